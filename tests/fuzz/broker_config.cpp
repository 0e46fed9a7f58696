// stepline-broker's configuration file (`parse_config`, the YAML layer's reader and typed
// readers under it): every text is either read into a configuration or refused with
// ConfigError, whose every line is `file:line:col: message`.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stepline::broker;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    BrokerConfig config = parse_config(text, "fuzz.yaml");
    // Every entity a configuration admits has a valid name.
    for (const auto& q : config.queues)
      if (!valid_entity_name(q.name)) std::abort();
    for (const auto& h : config.event_hubs)
      if (h.partitions < 1 || h.partitions > 32 || h.consumer_groups.empty()) std::abort();
  } catch (const ConfigError& e) {
    std::istringstream lines(e.what());
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("fuzz.yaml:", 0) != 0) std::abort();
  }
  return 0;
}
