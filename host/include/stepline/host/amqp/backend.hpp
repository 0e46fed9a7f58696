// The AMQP 1.0 backend: posts messages to Service Bus queues and topics, Event Hubs and two-way
// listeners over Qpid Proton C++. One proton::container runs on its own thread; callers on any
// thread hand it work through a proton::work_queue. Connections are shared per namespace and
// credential, sender links per entity; a bounded window of unsettled posts per link keeps memory
// flat, so post() blocks while its link's window is full.
//
// Transport: TLS on 5671 verified against the system store (or BackendOptions::ca_file), SNI and
// AMQP hostname = the namespace host; plain TCP only for UseDevelopmentEmulator=true, or for an
// amqp:// Endpoint when allow_plain_amqp is set. Auth per target: SASL PLAIN with the key name
// and key, or SASL ANONYMOUS plus a CBS put-token per entity audience, renewed before expiry
// (a SharedAccessSignature string is sent as given and cannot be renewed). A message goes as it
// is given (its annotations, such as an event hub partition key, are the caller's), except that
// targets awaiting a reply get a reply receiver (dynamic unless reply_to is set), stamp reply-to
// and a message-id, and complete with the reply whose correlation-id matches.
//
// Outcomes: accepted; transient for network trouble, timeouts, released/modified, server-busy,
// forced detach or close; permanent for not-found, size, quota, not-allowed, TLS verification,
// and unauthorized once a fresh token was refused too.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include <proton/message.hpp>

#include "stepline/host/amqp/outcome.hpp"
#include "stepline/host/amqp/target.hpp"

namespace stepline::host::amqp {

struct BackendOptions {
  std::size_t window = 256;  ///< posts per link that may be queued or unsettled at once
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};  ///< heartbeats at half
  /// A connection not open by then (TCP, TLS, SASL and AMQP open) is dropped and retried.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds reconnect_delay{std::chrono::milliseconds(100)};  ///< first backoff
  std::chrono::milliseconds max_reconnect_delay{std::chrono::seconds(30)};
  /// A new post does not wait out a longer backoff: it tries to connect at once when the last
  /// attempt is this old, so a broker back after a long outage is found by the next post.
  std::chrono::milliseconds demand_reconnect_delay{std::chrono::seconds(1)};
  /// At shutdown, how long the services may take to answer the close of links and connections
  /// before the connections are dropped.
  std::chrono::milliseconds close_timeout{std::chrono::seconds(2)};
  std::chrono::seconds token_validity{std::chrono::hours(1)};
  std::chrono::seconds token_renew_before{std::chrono::minutes(15)};  ///< renew at 45 of 60 min
  std::string ca_file;  ///< PEM trust store for amqps; empty = the system store
  /// Allows `amqp://` endpoints (plain TCP, no emulator flag), for local peers such as RabbitMQ.
  /// Off by default: only UseDevelopmentEmulator=true may otherwise turn TLS off.
  bool allow_plain_amqp = false;
};

/// A message already in its AMQP 1.0 encoding: its sections one after another, as
/// proton::message::encode() writes them. Posted as it is, with no proton::message built or
/// encoded again on the AMQP thread (a two-way target, which stamps reply-to, decodes it first).
struct EncodedMessage {
  std::string bytes;
};

/// Counters for tests and benchmarks.
struct BackendStats {
  std::uint64_t posted = 0;
  std::uint64_t accepted = 0;
  std::uint64_t failed = 0;
  std::uint64_t connections_opened = 0;
  std::int64_t connections_open = 0;  ///< open now
  std::uint64_t tokens_put = 0;
  std::size_t max_unsettled = 0;  ///< the most unsettled transfers any one link ever had
};

class Backend {
 public:
  using Callback = std::function<void(const Outcome&)>;

  explicit Backend(BackendOptions options = {});
  /// Shuts down with a 5 s grace period.
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  /// Posts `message` to `target`. Blocks while the target link's window is full; never call it
  /// from a completion callback. The future completes with accepted (and the reply for two-way),
  /// or a classified failure; after shutdown() it completes at once with a shutdown outcome.
  std::future<Outcome> post(const Target& target, proton::message message);
  /// The same with a callback, run on the AMQP thread (keep it short, don't post from it); a post
  /// refused before it is queued (bad configuration, shut down) completes on the calling thread.
  void post(const Target& target, proton::message message, Callback done);
  /// The same for a message encoded by the caller.
  std::future<Outcome> post(const Target& target, EncodedMessage message);
  void post(const Target& target, EncodedMessage message, Callback done);

  /// Stops taking posts, lets pending ones finish for up to `grace`, fails the rest with a
  /// shutdown outcome, closes the links and connections (waiting up to
  /// BackendOptions::close_timeout for the services to answer) and joins the AMQP thread.
  /// Idempotent.
  void shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5));

  BackendStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepline::host::amqp
