// The members of an ExecutionContext as every format names them, and the checks their readers
// share (the numbered fields). Each format walks this one table to write and read a context;
// what differs between formats is only how a value of each C++ type is spelt, which each format
// says once in an overload per type.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <stepline/execution_context.hpp>

#include "path.hpp"

namespace stepline::format::detail {

template <class T>
using MemberOf = T ExecutionContext::*;

/// A pointer to one context member; the member's type says how a format spells its value.
using ContextMember =
    std::variant<MemberOf<std::string>, MemberOf<Guid>, MemberOf<std::optional<Guid>>,
                 MemberOf<int>, MemberOf<Stage>, MemberOf<Mode>, MemberOf<IsolationMode>,
                 MemberOf<bool>, MemberOf<DateTime>, MemberOf<ParameterCollection>,
                 MemberOf<EntityImageCollection>, MemberOf<EntityReference>,
                 MemberOf<std::shared_ptr<const ExecutionContext>>>;

struct ContextField {
  std::string_view json_name;      ///< camelCase: json, cloudevents, binary
  std::string_view contract_name;  ///< the PascalCase DataMember name: dataverse-json, xml
  ContextMember member;
};

/// Every member of ExecutionContext once, in declaration order (the order json and binary write).
/// A new member goes here; a member of a new type also needs that type's overload in each format.
inline constexpr ContextField context_fields[] = {
    {"messageName", "MessageName", &ExecutionContext::message_name},
    {"primaryEntityName", "PrimaryEntityName", &ExecutionContext::primary_entity_name},
    {"primaryEntityId", "PrimaryEntityId", &ExecutionContext::primary_entity_id},
    {"secondaryEntityName", "SecondaryEntityName", &ExecutionContext::secondary_entity_name},
    {"stage", "Stage", &ExecutionContext::stage},
    {"mode", "Mode", &ExecutionContext::mode},
    {"depth", "Depth", &ExecutionContext::depth},
    {"inputParameters", "InputParameters", &ExecutionContext::input_parameters},
    {"outputParameters", "OutputParameters", &ExecutionContext::output_parameters},
    {"sharedVariables", "SharedVariables", &ExecutionContext::shared_variables},
    {"preEntityImages", "PreEntityImages", &ExecutionContext::pre_entity_images},
    {"postEntityImages", "PostEntityImages", &ExecutionContext::post_entity_images},
    {"userId", "UserId", &ExecutionContext::user_id},
    {"initiatingUserId", "InitiatingUserId", &ExecutionContext::initiating_user_id},
    {"businessUnitId", "BusinessUnitId", &ExecutionContext::business_unit_id},
    {"organizationId", "OrganizationId", &ExecutionContext::organization_id},
    {"organizationName", "OrganizationName", &ExecutionContext::organization_name},
    {"userAzureActiveDirectoryObjectId", "UserAzureActiveDirectoryObjectId",
     &ExecutionContext::user_azure_active_directory_object_id},
    {"initiatingUserAzureActiveDirectoryObjectId", "InitiatingUserAzureActiveDirectoryObjectId",
     &ExecutionContext::initiating_user_azure_active_directory_object_id},
    {"initiatingUserAgent", "InitiatingUserAgent", &ExecutionContext::initiating_user_agent},
    {"correlationId", "CorrelationId", &ExecutionContext::correlation_id},
    {"requestId", "RequestId", &ExecutionContext::request_id},
    {"operationId", "OperationId", &ExecutionContext::operation_id},
    {"operationCreatedOn", "OperationCreatedOn", &ExecutionContext::operation_created_on},
    {"owningExtension", "OwningExtension", &ExecutionContext::owning_extension},
    {"parentContext", "ParentContext", &ExecutionContext::parent_context},
    {"isInTransaction", "IsInTransaction", &ExecutionContext::is_in_transaction},
    {"isExecutingOffline", "IsExecutingOffline", &ExecutionContext::is_executing_offline},
    {"isOfflinePlayback", "IsOfflinePlayback", &ExecutionContext::is_offline_playback},
    {"isolationMode", "IsolationMode", &ExecutionContext::isolation_mode},
};

constexpr std::size_t context_field_count = std::size(context_fields);

/// A member under the name one family of formats gives it. `name` views a string literal, so
/// name.data() is NUL-terminated for the APIs that take C strings.
struct NamedMember {
  std::string_view name;
  ContextMember member;
};

using MemberList = std::array<NamedMember, context_field_count>;

constexpr MemberList named_members(std::string_view ContextField::*name, bool ordinal_order) {
  MemberList out{};
  for (std::size_t i = 0; i < context_field_count; ++i)
    out[i] = {context_fields[i].*name, context_fields[i].member};
  if (ordinal_order)
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

/// camelCase names in declaration order: json, cloudevents and binary.
inline constexpr MemberList json_members = named_members(&ContextField::json_name, false);
/// DataMember names in ordinal order, as DataContract serializers write them: dataverse-json, xml.
inline constexpr MemberList contract_members = named_members(&ContextField::contract_name, true);

/// The member called `name`; a name no member has does not compile.
consteval const NamedMember* find_named(const MemberList& members, std::string_view name) {
  for (const NamedMember& m : members)
    if (m.name == name) return &m;
  throw "no context member has this name";
}

/// The DataMember name is the json name with a capital, and no two members share a name.
constexpr bool names_agree() {
  for (const ContextField& f : context_fields) {
    std::string_view json = f.json_name, contract = f.contract_name;
    if (json.empty() || json.size() != contract.size() || json.substr(1) != contract.substr(1) ||
        json[0] - 'a' + 'A' != contract[0])
      return false;
  }
  for (std::size_t i = 1; i < context_field_count; ++i)
    if (contract_members[i - 1].name == contract_members[i].name) return false;
  return true;
}
static_assert(names_agree(), "context_fields: a DataMember name is not the capitalised json name");

/// The pointer to member `i` of `members`, as a constant of its own type.
template <const MemberList& members, std::size_t i>
inline constexpr auto member_pointer = std::get<members[i].member.index()>(members[i].member);

template <const MemberList& members, class F, std::size_t... i>
void for_each_member(const ExecutionContext& c, F&& f, std::index_sequence<i...>) {
  (f(members[i].name, c.*member_pointer<members, i>), ...);
}

/// Calls f(name, member) for each member of `c` in the order of `members`. The loop unrolls at
/// compile time and each call sees the member's own type, so writing a context costs what a
/// hand-written sequence of members would.
template <const MemberList& members, class F>
void for_each_member(const ExecutionContext& c, F&& f) {
  for_each_member<members>(c, f, std::make_index_sequence<context_field_count>{});
}

/// Calls f with a reference to the member `m` of `c`, for readers that find `m` by name.
template <class F>
void visit_member(ExecutionContext& c, const ContextMember& m, F&& f) {
  std::visit([&](auto member) { f(c.*member); }, m);
}

/// Finds members by name in one context object. Writers list members in the order of their
/// MemberList, and Dataverse uses the same ordinal order, so the search starts after the member
/// found last and goes round the list: one comparison per member for such documents, a scan of
/// the list for any other order, no slower than comparing with each name in turn.
class MemberLookup {
 public:
  explicit MemberLookup(const MemberList& members) : members_(members) {}

  /// nullptr for a name no member has.
  const NamedMember* find(std::string_view name) {
    for (std::size_t tried = 0; tried < context_field_count; ++tried) {
      const NamedMember& m = members_[next_];
      next_ = next_ + 1 == context_field_count ? 0 : next_ + 1;
      if (m.name == name) return &m;
    }
    return nullptr;
  }

 private:
  const MemberList& members_;
  std::size_t next_ = 0;
};

inline Stage stage_from(int n, const Path& at) {
  if (n != 10 && n != 20 && n != 30 && n != 40)
    at.fail(std::to_string(n) +
            " is not a stage; use 10 (pre-validation), 20 (pre-operation), 30 (main operation) or "
            "40 (post-operation)");
  return static_cast<Stage>(n);
}

inline Mode mode_from(int n, const Path& at) {
  if (n != 0 && n != 1)
    at.fail(std::to_string(n) + " is not a mode; use 0 (synchronous) or 1 (asynchronous)");
  return static_cast<Mode>(n);
}

inline IsolationMode isolation_mode_from(int n, const Path& at) {
  if (n != 1 && n != 2)
    at.fail(std::to_string(n) + " is not an isolation mode; use 1 (none) or 2 (process)");
  return static_cast<IsolationMode>(n);
}

}  // namespace stepline::format::detail
