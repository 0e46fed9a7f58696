#include <stepline/entity.hpp>

namespace stepline {

const Value& Entity::get(std::string_view attribute) const {
  static const Value null_value;
  auto it = attributes.find(attribute);
  return it == attributes.end() ? null_value : it->second;
}

Entity Entity::project(const std::vector<std::string>& columns) const {
  Entity out(logical_name, id);
  out.row_version = row_version;
  for (const auto& c : columns) {
    if (auto it = attributes.find(c); it != attributes.end()) out.attributes.emplace(it->first, it->second);
    if (auto it = formatted_values.find(c); it != formatted_values.end())
      out.formatted_values.emplace(it->first, it->second);
  }
  return out;
}

}  // namespace stepline
