// Who may hold a connection. A flood of clients that connect and never log in (or that send
// garbage) must not take every descriptor and lock normal clients out: at most
// `max_connections_per_address` open connections from one address, at most
// `max_unauthenticated_connections` in all that have not yet authenticated (SASL PLAIN with a
// policy, or a token put on $cbs), and each must authenticate within `authentication_timeout`.
// Pure bookkeeping keyed by an opaque connection pointer, so it is tested without sockets.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "counters.hpp"
#include "log.hpp"

namespace stepline::broker {

class Admission {
 public:
  enum class Verdict { admitted, too_many_from_address, too_many_unauthenticated };

  Admission(const ConnectionLimits& limits, Counters& counters)
      : limits_(limits), counters_(counters) {}

  /// A connection from `address` was accepted at `now_ms`: admits it (it counts until closed())
  /// or refuses it, counting and logging the refusal at most once per interval.
  Verdict admit(const void* connection, const std::string& address, int64_t now_ms);
  /// The connection logged in or put a valid token: it no longer counts as unauthenticated.
  void authenticated(const void* connection);
  bool is_authenticated(const void* connection) const;
  /// True once admit() has seen the connection (until closed()).
  bool known(const void* connection) const { return connections_.count(connection) != 0; }
  /// True for a connection admit() refused (it is being closed).
  bool refused(const void* connection) const;
  /// The connection is gone; forgets it (admitted or refused).
  void closed(const void* connection);
  /// Admitted connections still unauthenticated after the authentication timeout.
  std::vector<const void*> overdue(int64_t now_ms) const;

  size_t unauthenticated() const { return unauthenticated_; }

 private:
  struct Entry {
    std::string address;
    int64_t since_ms = 0;
    bool authenticated = false;
    bool refused = false;
  };
  void log_refusal(Verdict verdict, const std::string& address, int64_t now_ms);

  ConnectionLimits limits_;
  Counters& counters_;
  std::unordered_map<const void*, Entry> connections_;
  std::unordered_map<std::string, uint32_t> per_address_;
  size_t unauthenticated_ = 0;
  log::Throttle refusal_log_{10'000};
};

}  // namespace stepline::broker
