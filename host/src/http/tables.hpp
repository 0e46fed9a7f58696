// How the Web API names tables and messages for one registration: entity set names in URLs
// ("accounts" for account), the column types JSON cannot tell (money, dates), and which names are
// custom messages rather than tables. Built once per registration and shared by the requests
// that run on it, so a registration swapped in by a reload is seen by the next request.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <stepline/registration/model.hpp>
#include <stepline/value.hpp>

namespace stepline::host::http {

/// The usual entity set name of a table: "account" → "accounts", "opportunity" →
/// "opportunities", "address" → "addresses".
std::string plural_of(std::string_view logical_name);

class Tables {
 public:
  explicit Tables(std::shared_ptr<const registration::Registration> registration);

  /// The table an entity set names: a listed set, a table the registration knows whose plural
  /// it is, else the singular the plural rule gives; nullopt when the name is no plural at all.
  std::optional<std::string> table_of_set(std::string_view set) const;
  /// The entity set name of a table.
  std::string set_of(std::string_view table) const;
  /// The declared kind of a column, or nullopt (the JSON type decides).
  std::optional<ValueKind> column_kind(std::string_view table, std::string_view column) const;
  /// True for a message some step is registered on other than the built-in ones.
  bool is_custom_message(std::string_view name) const;
  /// Entity sets to list in the service document: listed tables and tables steps name.
  std::vector<std::string> known_sets() const;

  const registration::Registration& registration() const { return *registration_; }
  const std::shared_ptr<const registration::Registration>& shared() const { return registration_; }

 private:
  std::shared_ptr<const registration::Registration> registration_;
  std::map<std::string, std::string, std::less<>> table_by_set_;
  std::map<std::string, std::string, std::less<>> set_by_table_;
  std::map<std::string, std::map<std::string, ValueKind, std::less<>>, std::less<>> columns_;
  std::set<std::string, std::less<>> custom_messages_;
};

}  // namespace stepline::host::http
