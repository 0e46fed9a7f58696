// One AMQP connection to a namespace with one credential: connects lazily, reconnects with
// capped exponential backoff and jitter, authorizes entities (SASL PLAIN, or ANONYMOUS plus a
// CBS put-token per audience renewed before it expires), and keeps one sender link per entity
// with a bounded window of unsettled transfers. Lives entirely on the AMQP thread.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <proton/connection.hpp>
#include <proton/error_condition.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/sender.hpp>

#include <stepline/azure/cbs.hpp>
#include <stepline/azure/sas_token.hpp>

#include "post.hpp"

namespace stepline::host::amqp {

class Connection : public proton::messaging_handler {
 public:
  /// `first` gives the namespace, credential and auth mechanism every post here shares.
  Connection(Runtime& runtime, const Target& first);

  /// Queues a post; call flush() after a batch of them.
  void enqueue(std::shared_ptr<Post> post);
  /// Wakes the Proton connection so that work done outside its own events gets written.
  void flush();
  /// Periodic work: expires overdue posts, reconnects after backoff, reattaches links, renews
  /// tokens.
  void tick(Clock::time_point now);
  /// Fails every pending post with `outcome`, then closes the links and the connection: the
  /// service is sent the detach and close frames and answers them; closed() says when it has.
  void close(const Outcome& outcome);
  /// True once close() is done: the service answered it, or no connection was open.
  bool closed() const { return state_ == State::closed && !closing_; }

 private:
  struct Link {
    std::string key;
    std::string entity;
    bool twoway = false;
    std::string fixed_reply_to;
    enum class State { detached, authorizing, attaching, ready } state = State::detached;
    proton::sender sender;
    proton::receiver replies;
    bool sender_open = false, replies_open = false;
    std::string reply_address;
    std::deque<std::shared_ptr<Post>> queue;
    std::unordered_map<std::uint64_t, std::shared_ptr<Post>> unsettled;
    std::unordered_map<std::string, std::shared_ptr<Post>> awaiting_reply;
    bool token_refreshed = false;  ///< one fresh token after an unauthorized, then give up
    Clock::time_point renew_at = Clock::time_point::max();
    Clock::time_point retry_at{};
    int detach_failures = 0;
  };

  using CbsCallback = std::function<void(const azure::cbs::PutTokenResponse&)>;
  struct CbsRequest {
    std::string id;
    std::string audience;
    std::string token;
    CbsCallback done;
    Clock::time_point sent_at;
  };

  // proton::messaging_handler
  void on_connection_open(proton::connection&) override;
  void on_connection_close(proton::connection&) override;
  void on_transport_close(proton::transport&) override;
  void on_sender_open(proton::sender&) override;
  void on_sender_close(proton::sender&) override;
  void on_sender_detach(proton::sender&) override;
  void on_receiver_open(proton::receiver&) override;
  void on_receiver_close(proton::receiver&) override;
  void on_receiver_detach(proton::receiver&) override;
  void on_sendable(proton::sender&) override;
  void on_message(proton::delivery&, proton::message&) override;
  void on_tracker_accept(proton::tracker&) override;
  void on_tracker_reject(proton::tracker&) override;
  void on_tracker_release(proton::tracker&) override;
  // Failures are handled where the endpoint closes; the defaults would throw.
  void on_error(const proton::error_condition&) override {}
  void on_transport_error(proton::transport&) override {}
  void on_connection_error(proton::connection&) override {}
  void on_session_error(proton::session&) override {}
  void on_sender_error(proton::sender&) override {}
  void on_receiver_error(proton::receiver&) override {}

  void connect();
  void give_up_connecting(Clock::time_point now);
  void activate(Link& link);
  void authorize(Link& link, bool renewal);
  void attach(Link& link);
  void open_replies(Link& link);
  std::shared_ptr<Post> take_unsettled(const proton::tracker& t, Link*& link);
  void pump(Link& link);
  void sender_lost(proton::sender& sender);
  void put_token(std::string audience, std::string token, CbsCallback done);
  void pump_cbs();
  std::string token_for(const std::string& audience) const;

  Link* link_of(const proton::sender& sender);
  Link* link_of(const proton::receiver& receiver);
  bool ready(const Link& link) const;
  void fail_in_flight(Link& link, const Outcome& outcome);
  void fail_all(Link& link, const Outcome& outcome);
  std::string describe(const Link& link, std::string_view what) const;
  Outcome failure(const Link& link, const proton::error_condition& error,
                  std::string_view fallback_condition, std::string_view what) const;
  bool uses_cbs() const;

  Runtime& runtime_;
  std::shared_ptr<const Target> identity_;  // namespace, credential and auth of this connection
  std::string where_;                       // "host:port", for messages
  enum class State { idle, connecting, open, backoff, closed } state_ = State::idle;
  bool closing_ = false;  // closed, but the transport is not closed yet
  proton::connection connection_;
  unsigned generation_ = 0;
  int failures_ = 0;
  Clock::time_point next_attempt_ = {};
  Clock::time_point connecting_since_ = {};
  proton::error_condition last_error_;
  std::map<std::string, Link> links_;
  std::uint64_t next_tag_ = 0;
  std::vector<char> encode_buffer_;  // proton::message posts are encoded here

  proton::sender cbs_sender_;
  proton::receiver cbs_receiver_;
  bool cbs_sender_open_ = false, cbs_receiver_open_ = false;
  std::string cbs_reply_to_;
  std::deque<CbsRequest> cbs_queue_;
  std::unordered_map<std::string, CbsRequest> cbs_waiting_;
};

}  // namespace stepline::host::amqp
