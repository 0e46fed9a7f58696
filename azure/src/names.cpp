#include "stepline/azure/names.hpp"

namespace stepline::azure {
namespace {

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

}  // namespace

std::string partition_address(std::string_view hub, std::string_view partition) {
  return join({hub, node::partitions, partition});
}

std::string consumer_address(std::string_view hub, std::string_view group,
                             std::string_view partition) {
  return join({hub, node::consumer_groups, group, node::partitions, partition});
}

std::string subscription_address(std::string_view topic, std::string_view subscription) {
  return join({topic, node::subscriptions, subscription});
}

std::string dead_letter_address(std::string_view entity) {
  return join({entity, node::dead_letter_queue});
}

}  // namespace stepline::azure
