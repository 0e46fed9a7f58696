#include "tables.hpp"

#include <array>

namespace stepline::host::http {
namespace {

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

bool is_vowel(char c) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

// Messages the pipeline or Dataverse itself knows; never custom messages.
constexpr std::array built_in_messages = {
    "Create",       "Update", "Delete",   "Retrieve", "RetrieveMultiple", "Upsert", "Associate",
    "Disassociate", "Assign", "SetState", "Merge"};

}  // namespace

std::string plural_of(std::string_view name) {
  std::string s(name);
  if (s.size() >= 2 && s.back() == 'y' && !is_vowel(s[s.size() - 2]))
    return s.substr(0, s.size() - 1) + "ies";
  if (ends_with(s, "s") || ends_with(s, "x") || ends_with(s, "z") || ends_with(s, "ch") ||
      ends_with(s, "sh"))
    return s + "es";
  return s + "s";
}

Tables::Tables(std::shared_ptr<const registration::Registration> registration)
    : registration_(std::move(registration)) {
  const auto& r = *registration_;
  auto add = [&](const std::string& table, const std::string& set) {
    if (table.empty() || set_by_table_.count(table)) return;
    set_by_table_.emplace(table, set);
    table_by_set_.emplace(set, table);
  };
  for (const auto& t : r.http.tables) {
    add(t.name, t.set.empty() ? plural_of(t.name) : t.set);
    auto& kinds = columns_[t.name];
    for (const auto& [column, kind] : t.columns) kinds.insert_or_assign(column, kind);
  }
  for (const auto& s : r.steps) {
    add(s.entity, plural_of(s.entity));
    bool built_in = false;
    for (const char* m : built_in_messages) built_in = built_in || s.message == m;
    if (!built_in) custom_messages_.insert(s.message);
  }
}

std::optional<std::string> Tables::table_of_set(std::string_view set) const {
  if (auto it = table_by_set_.find(set); it != table_by_set_.end()) return it->second;
  // Candidates in the order that prefers the common case ("licenses" → "license", not
  // "licens"); each must give `set` back as its plural.
  std::vector<std::string> candidates;
  if (ends_with(set, "ies")) candidates.push_back(std::string(set.substr(0, set.size() - 3)) + "y");
  if (ends_with(set, "es")) {
    std::string stem(set.substr(0, set.size() - 2));
    if (ends_with(stem, "ss") || ends_with(stem, "x") || ends_with(stem, "z") ||
        ends_with(stem, "ch") || ends_with(stem, "sh"))
      candidates.push_back(stem);
  }
  if (ends_with(set, "s")) candidates.push_back(std::string(set.substr(0, set.size() - 1)));
  for (const auto& c : candidates)
    if (!c.empty() && plural_of(c) == set && !set_by_table_.count(c)) return c;
  return std::nullopt;
}

std::string Tables::set_of(std::string_view table) const {
  if (auto it = set_by_table_.find(table); it != set_by_table_.end()) return it->second;
  return plural_of(table);
}

std::optional<ValueKind> Tables::column_kind(std::string_view table,
                                             std::string_view column) const {
  auto t = columns_.find(table);
  if (t == columns_.end()) return std::nullopt;
  auto c = t->second.find(column);
  if (c == t->second.end()) return std::nullopt;
  return c->second;
}

bool Tables::is_custom_message(std::string_view name) const {
  return custom_messages_.count(name) != 0;
}

std::vector<std::string> Tables::known_sets() const {
  std::vector<std::string> out;
  for (const auto& [set, table] : table_by_set_) out.push_back(set);
  return out;
}

}  // namespace stepline::host::http
