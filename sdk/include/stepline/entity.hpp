// A record (row) of a table, and a page of records.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/api.hpp>
#include <stepline/value.hpp>

namespace stepline {

class STEPLINE_API Entity {
 public:
  Entity() = default;
  explicit Entity(std::string logical_name, Guid id = {})
      : logical_name(std::move(logical_name)), id(id) {}

  /// True when the attribute is present (possibly holding null).
  bool contains(std::string_view attribute) const { return attributes.find(attribute) != attributes.end(); }
  /// The attribute's value; null when absent.
  const Value& get(std::string_view attribute) const;
  /// The attribute as T, or nullopt when absent or null. Throws ValueTypeError on another type.
  template <class T>
  std::optional<T> get_as(std::string_view attribute) const {
    const Value& v = get(attribute);
    if (v.is_null()) return std::nullopt;
    return v.as<T>();
  }
  void set(std::string attribute, Value value) { attributes.insert_or_assign(std::move(attribute), std::move(value)); }
  /// A reference to this record.
  EntityReference to_reference() const { return {logical_name, id, {}}; }

  /// Keeps only the named attributes (an image restricted to its columns).
  Entity project(const std::vector<std::string>& columns) const;

  friend bool operator==(const Entity&, const Entity&) = default;

  std::string logical_name;
  Guid id;
  AttributeCollection attributes;
  /// Display text per attribute ("$180,000.00", "Active").
  std::map<std::string, std::string, std::less<>> formatted_values;
  /// Concurrency version; empty when unknown.
  std::string row_version;
};

/// Records returned by a query, with paging state.
class STEPLINE_API EntityCollection {
 public:
  friend bool operator==(const EntityCollection&, const EntityCollection&) = default;

  std::string entity_name;
  std::vector<Entity> entities;
  bool more_records = false;
  std::string paging_cookie;
  /// -1 when not counted.
  int total_record_count = -1;
};

/// Pre- and post-images by alias.
using EntityImageCollection = std::map<std::string, Entity, std::less<>>;

}  // namespace stepline
