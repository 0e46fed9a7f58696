// The broker's frame input: bytes from a peer fed into one connection, without sockets, through
// the same transport set-up, admission and event handling as an accepted connection's
// (Broker::drive_connection). The first byte picks the protocol header put before the rest (none,
// AMQP or SASL) and the second the size of the pieces the bytes arrive in, so mutations reach past
// the header and split frames anywhere. Whatever arrives, the broker neither crashes nor holds
// more than its frame limits allow (AddressSanitizer's leak check and -rss_limit_mb watch that),
// and forgets the connection when the peer goes away.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "broker.hpp"
#include "config.hpp"

namespace {

const char* fuzz_config = R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: fuzz-key
    rights: [manage, send, listen]
  - name: send-only
    key: fuzz-send-key
    rights: [send]
queues:
  - name: orders
topics:
  - name: events
    subscriptions:
      - name: accounts
        filter: "priority > 1 AND sys.Label LIKE 'a%'"
event_hubs:
  - name: telemetry
    partitions: 2
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stepline::broker;
  static Broker broker(parse_config(fuzz_config, "fuzz.yaml"));
  if (size < 2) return 0;
  static const std::string headers[] = {"", std::string("AMQP\0\1\0\0", 8),
                                        std::string("AMQP\3\1\0\0", 8)};
  std::string input = headers[data[0] % 3];
  input.append(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::size_t chunk = data[1] < 128 ? data[1] + 1 : 4096;
  auto out = broker.drive_connection(input, chunk);
  if (out.taken > input.size()) __builtin_trap();
  // The connection is gone, so the broker counts it neither as open nor as unauthenticated.
  if (broker.admission().unauthenticated() != 0) __builtin_trap();
  return 0;
}
