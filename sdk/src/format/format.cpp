#include <stepline/format/format.hpp>

#include <map>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>

#include <stepline/format/claim_check.hpp>
#include <stepline/format/format_error.hpp>

namespace stepline::format {
namespace {

// Every format writes and reads each member of these types. When one gains a member, this fails
// to compile: add a context member to the table in context_fields.hpp (and, if its type is new,
// that type to each format's MemberWriter and MemberReader), an Entity or EntityCollection member
// to every writer and reader (sdk/src/format); then to tests/format/sample_contexts.hpp,
// the JSON Schema and docs/FORMATS.md, and update the size.
static_assert(sizeof(void*) != 8 || sizeof(ExecutionContext) == 696, "ExecutionContext changed");
static_assert(sizeof(void*) != 8 || sizeof(Entity) == 176, "Entity changed");
static_assert(sizeof(void*) != 8 || sizeof(EntityCollection) == 104, "EntityCollection changed");

std::string joined(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace

struct FormatRegistry::State {
  mutable std::shared_mutex mutex;
  std::map<std::string_view, Format, std::less<>> formats;
};

FormatRegistry::FormatRegistry() : state_(std::make_unique<State>()) {}

FormatRegistry::~FormatRegistry() = default;

FormatRegistry& FormatRegistry::global() {
  // Built on first use, so formats registered from any library's static initializers find it.
  static FormatRegistry registry;
  return registry;
}

const Format& FormatRegistry::add(const Format& format) {
  if (format.name.empty() || !format.write || !format.read)
    throw std::invalid_argument("a format needs a name, a writer and a reader (format '" +
                                std::string(format.name) + "' from " + std::string(format.library) +
                                ")");
  std::unique_lock lock(state_->mutex);
  auto [it, added] = state_->formats.try_emplace(format.name, format);
  if (!added)
    throw std::logic_error("the format '" + std::string(format.name) + "' is registered by " +
                           std::string(it->second.library) + " and again by " +
                           std::string(format.library) + "; give one of them another name");
  return it->second;
}

const Format* FormatRegistry::find(std::string_view name) const noexcept {
  std::shared_lock lock(state_->mutex);
  auto it = state_->formats.find(name);
  return it == state_->formats.end() ? nullptr : &it->second;
}

const Format& FormatRegistry::get(std::string_view name) const {
  if (const Format* format = find(name)) return *format;
  throw std::invalid_argument("unknown message format '" + std::string(name) + "'; use one of " +
                              joined(names()) +
                              " (a format defined in another library, such as binary in "
                              "stepline_sdk_amqp, is there once that library is loaded)");
}

std::vector<std::string_view> FormatRegistry::names() const {
  std::shared_lock lock(state_->mutex);
  std::vector<std::string_view> out;
  for (const auto& [name, format] : state_->formats) out.push_back(name);
  return out;
}

FormatRegistration::FormatRegistration(const Format& format)
    : format(FormatRegistry::global().add(format)) {}

const Format* find_format(std::string_view name) noexcept {
  return FormatRegistry::global().find(name);
}

const Format& format_named(std::string_view name) {
  return FormatRegistry::global().get(name);
}

std::vector<std::string_view> format_names() {
  return FormatRegistry::global().names();
}

std::string serialize(const ExecutionContext& context, std::string_view format) {
  return format_named(format).write(context);
}

ExecutionContext parse(std::string_view body, std::string_view format) {
  if (is_claim_check(body)) refuse_claim_check(body);
  return format_named(format).read(body);
}

void refuse_claim_check(std::string_view body) {
  auto reference = read_claim_check(body);
  throw FormatError("", "the body is a claim check: the context (" +
                            std::to_string(reference->size) + " bytes) is the blob " +
                            reference->url +
                            "; read it with parse_any_format() and a ClaimCheckSource such as "
                            "stepline::claim_check::BlobReader (the claim_check component)");
}

}  // namespace stepline::format
