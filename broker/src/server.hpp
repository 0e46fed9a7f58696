// The broker's network side: a Proton proactor run on one thread. It listens, admits or refuses
// each accepted connection (Admission), sets up its transport (SASL, a small frame limit until
// the connection is open, idle timeout), and hands every connection, session, link, delivery
// and transport event to the Handler, in order, on that one thread. Timers and wake-ups from
// other threads (the store's writer, the signal thread) arrive on the same thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "admission.hpp"
#include "auth.hpp"
#include "config.hpp"
#include "counters.hpp"
#include "timers.hpp"

struct pn_proactor_t;
struct pn_listener_t;
struct pn_event_t;
struct pn_transport_t;
struct pn_connection_t;

namespace stepline::broker {

/// The largest frame a peer may send before its connection is open (SASL frames and the open
/// frame itself are a few hundred bytes); the configured max_frame_size applies after.
inline constexpr uint32_t frame_limit_before_open = 8192;

/// Sets up a server transport the way every accepted connection has it: SASL PLAIN or
/// ANONYMOUS (or no SASL layer), the frame limit before open, the idle timeout, and a watch for
/// frames Proton cannot decode.
void configure_transport(pn_transport_t* t, const BrokerConfig& config, const Authority& authority);
/// Proton 0.37 drops a frame it cannot decode (garbage after the protocol header, an unknown
/// performative) without an error event and then reads nothing more from that peer. When `t`
/// has done so, sets a framing error on it and closes its input (Proton then sends a close
/// frame and ends the connection); true if it did.
bool close_if_undecodable(pn_transport_t* t);
/// Closes both directions at once: the socket closes without waiting for the peer.
void close_now(pn_transport_t* t);
/// Sets up a new connection object before it is bound to its transport.
void configure_connection(pn_connection_t* c);

class Server {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    /// Every event of an admitted connection.
    virtual void on_event(pn_event_t* event) = 0;
    /// Another thread called wake().
    virtual void on_wake() = 0;
  };

  Server(const BrokerConfig& config, const Authority& authority, Handler& handler,
         Admission& admission, Counters& counters);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Listens on `address` (host:port) and runs until stop() has taken effect. Throws when the
  /// address cannot be bound.
  void run(const std::string& address);
  /// Thread-safe: closes the listener and every connection; run() then returns.
  void stop();
  /// Thread-safe: makes the AMQP thread call Handler::on_wake().
  void wake();
  /// Timers run on the AMQP thread; only that thread may add to them.
  Timers& timers() { return timers_; }

  /// One event of a connection, as run() hands them over: admission on the first, frame limits,
  /// prompt closing on errors, then the Handler. Public so that a connection driven from bytes
  /// (connection_input.cpp) goes through the same steps.
  void connection_event(pn_event_t* event);
  /// Closes `t` with a framing error if Proton dropped a frame of it it could not decode.
  void check_undecodable(pn_transport_t* t);

 private:
  void accept(pn_listener_t* listener);
  void arm_timer();
  void count_protocol_error(pn_transport_t* t);
  void close_undecodable();
  void shut_down();

  const BrokerConfig& config_;
  const Authority& authority_;
  Handler& handler_;
  Admission& admission_;
  Counters& counters_;
  Timers timers_;
  pn_proactor_t* proactor_ = nullptr;
  pn_listener_t* listener_ = nullptr;
  int64_t armed_for_ = 0;  ///< due time the proactor's timeout is set for, 0 = none
  bool stopping_ = false;
  std::string listen_error_;
  std::unordered_set<pn_transport_t*> errored_;  ///< transports counted as protocol errors
  std::unordered_set<pn_transport_t*> live_;     ///< transports of admitted connections
  std::atomic<bool> stop_requested_{false};
};

}  // namespace stepline::broker
