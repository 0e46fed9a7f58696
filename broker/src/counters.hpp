// What the broker refused or closed, and why, as counters. They are atomics: the AMQP thread
// counts, and any other thread (an HTTP /metrics endpoint, a test) may read them at any time.
#pragma once

#include <atomic>
#include <cstdint>

namespace stepline::broker {

struct Counters {
  using Count = std::atomic<uint64_t>;
  Count connections_accepted{0};
  Count connections_open{0};  ///< a gauge: accepted and not yet closed
  Count connections_refused_per_address{0};
  Count connections_refused_unauthenticated{0};
  Count connections_closed_protocol_error{0};  ///< framing errors, oversized frames, bad SASL
  Count connections_closed_authentication_timeout{0};
  Count connections_closed_too_many_links{0};  ///< unauthenticated connections attaching links
  Count publishes_refused_store_failure{0};
  Count store_write_failures{0};
};

}  // namespace stepline::broker
