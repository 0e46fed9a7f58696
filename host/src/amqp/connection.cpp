#include "connection.hpp"

#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include <proton/binary.hpp>
#include <proton/connection_options.hpp>
#include <proton/delivery.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender_options.hpp>
#include <proton/source.hpp>
#include <proton/source_options.hpp>
#include <proton/ssl.hpp>
#include <proton/target.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>
#include <proton/uuid.hpp>
#include <proton/value.hpp>

#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/link.h>
#include <proton/transport.h>

#include <stepline/azure/conditions.hpp>
#include <stepline/azure/names.hpp>

#include "stepline/host/log.hpp"

namespace stepline::host::amqp {
namespace {

constexpr auto cbs_timeout = std::chrono::seconds(60);

// Proton C++ has no accessor for the error a peer puts in a rejected outcome; the C delivery
// behind a tracker has it.
class RawDelivery : public proton::tracker {
 public:
  explicit RawDelivery(const proton::tracker& t) : proton::tracker(t) {}
  proton::error_condition remote_condition() const {
    pn_disposition_t* disposition = pn_delivery_remote(pn_object());
    pn_condition_t* condition = disposition ? pn_disposition_condition(disposition) : nullptr;
    if (!condition || !pn_condition_is_set(condition)) return {};
    const char* name = pn_condition_get_name(condition);
    const char* description = pn_condition_get_description(condition);
    return {name ? name : "", description ? description : ""};
  }
};

class RawSender : public proton::sender {
 public:
  explicit RawSender(const proton::sender& s) : proton::sender(s) {}
  pn_link_t* get() const { return pn_object(); }
};

// What proton::sender::send() does once the message is encoded: a delivery tagged `tag` carrying
// `bytes`, settled at once on a link that sends settled. Without it each send would encode the
// message into a fresh buffer, starting at 512 bytes and encoding again at every doubling.
void send_encoded(const proton::sender& sender, std::string_view bytes, std::uint64_t tag) {
  pn_link_t* link = RawSender(sender).get();
  pn_delivery_t* delivery =
      pn_delivery(link, pn_dtag(reinterpret_cast<const char*>(&tag), sizeof tag));
  pn_link_send(link, bytes.data(), bytes.size());
  pn_link_advance(link);
  if (pn_link_snd_settle_mode(link) == PN_SND_SETTLED) pn_delivery_settle(delivery);
}

class RawConnection : public proton::connection {
 public:
  explicit RawConnection(const proton::connection& c) : proton::connection(c) {}
  pn_connection_t* get() const { return pn_object(); }
};

std::uint64_t tag_value(const proton::binary& tag) {
  std::uint64_t value = 0;
  if (tag.size() == sizeof value) std::memcpy(&value, tag.data(), sizeof value);
  return value;
}

std::string body_text(const proton::value& body) {
  switch (body.type()) {
    case proton::STRING:
      return proton::get<std::string>(body);
    case proton::SYMBOL:
      return proton::get<proton::symbol>(body);
    case proton::BINARY: {
      auto bytes = proton::get<proton::binary>(body);
      return std::string(bytes.begin(), bytes.end());
    }
    case proton::NULL_TYPE:
      return {};
    default:
      return proton::to_string(body);
  }
}

std::chrono::milliseconds backoff(int failures, const BackendOptions& options) {
  thread_local std::mt19937 random{std::random_device{}()};
  double delay = static_cast<double>(options.reconnect_delay.count());
  for (int i = 1; i < failures && delay < options.max_reconnect_delay.count(); ++i) delay *= 2;
  delay = std::min(delay, static_cast<double>(options.max_reconnect_delay.count()));
  return std::chrono::milliseconds(
      static_cast<long long>(delay * std::uniform_real_distribution<double>(0.8, 1.2)(random)));
}

// A proton::error_condition read from an endpoint shares the endpoint's info data; keeping one
// past the endpoint's life trips Proton's reference counting when the connection is freed.
proton::error_condition copy_of(const proton::error_condition& e) {
  if (!e) return {};
  return {e.name(), e.description()};
}

bool is_tls_failure(const proton::error_condition& error) {
  std::string text = error.description();
  return text.find("SSL") != std::string::npos || text.find("certificate") != std::string::npos ||
         text.find("TLS") != std::string::npos;
}

}  // namespace

Connection::Connection(Runtime& runtime, const Target& first)
    : runtime_(runtime), identity_(std::make_shared<Target>(first)) {
  const auto& cs = identity_->connection;
  where_ = (cs.host.find(':') != std::string::npos ? "[" + cs.host + "]" : cs.host) + ":" +
           std::to_string(cs.effective_port());
}

bool Connection::uses_cbs() const {
  return identity_->auth == Auth::cbs || !identity_->connection.has_key();
}

void Connection::enqueue(std::shared_ptr<Post> post) {
  auto [it, inserted] = links_.try_emplace(post->link_key());
  Link& link = it->second;
  if (inserted) {
    link.key = post->link_key();
    link.entity = post->target().entity;
    link.twoway = post->target().awaits_reply;
    link.fixed_reply_to = post->target().reply_to;
  }
  link.queue.push_back(std::move(post));
  switch (state_) {
    case State::idle:
      connect();
      break;
    case State::open:
      activate(link);
      pump(link);
      break;
    case State::closed:
      fail_all(link, Outcome::shutdown("the AMQP backend is shut down"));
      break;
    case State::backoff:
      // The backoff grows while the namespace stays away; new work asks again sooner, at most
      // once per demand_reconnect_delay, so recovery after a long outage takes one post.
      if (Clock::now() - connecting_since_ >= runtime_.options().demand_reconnect_delay) connect();
      break;
    default:
      break;  // connecting: the queue waits
  }
}

void Connection::flush() {
  // enqueue() and tick() run as container work, outside the connection's own events: without a
  // wake, Proton would not write what they did until the connection's next event.
  if (connection_ && (state_ == State::open || state_ == State::connecting)) connection_.wake();
}

void Connection::connect() {
  const auto& cs = identity_->connection;
  const auto& options = runtime_.options();
  bool plain = cs.use_development_emulator || cs.scheme == "amqp";
  std::string url = std::string(plain ? "amqp://" : "amqps://") + where_;
  proton::connection_options o;
  o.handler(*this).virtual_host(cs.host).idle_timeout(
      proton::duration(options.idle_timeout.count()));
  if (!plain) {
    o.ssl_client_options(
        options.ca_file.empty()
            ? proton::ssl_client_options()
            : proton::ssl_client_options(options.ca_file, proton::ssl::VERIFY_PEER_NAME));
  }
  o.sasl_enabled(true);
  if (uses_cbs()) {
    o.sasl_allowed_mechs("ANONYMOUS");
  } else {
    o.user(cs.shared_access_key_name)
        .password(cs.shared_access_key)
        .sasl_allowed_mechs("PLAIN")
        .sasl_allow_insecure_mechs(plain);
  }
  ++generation_;
  state_ = State::connecting;
  connecting_since_ = Clock::now();
  try {
    connection_ = runtime_.container().connect(url, o);
  } catch (const std::exception& e) {
    last_error_ = proton::error_condition(std::string(local_condition::network), e.what());
    state_ = State::backoff;
    next_attempt_ = Clock::now() + backoff(++failures_, options);
  }
}

void Connection::on_connection_open(proton::connection& c) {
  state_ = State::open;
  failures_ = 0;
  last_error_ = {};
  runtime_.note_connection_opened();
  log::info("amqp: connected to {} ({})", where_, uses_cbs() ? "CBS" : "SASL PLAIN");
  if (uses_cbs()) {
    std::string id = proton::uuid::random().str();
    cbs_reply_to_ = "cbs-" + id;
    cbs_sender_ =
        c.open_sender(std::string(azure::node::cbs), proton::sender_options().name("$cbs-" + id));
    cbs_receiver_ =
        c.open_receiver(std::string(azure::node::cbs),
                        proton::receiver_options().name(cbs_reply_to_).credit_window(16));
  }
  for (auto& [key, link] : links_) {
    if (!link.queue.empty()) activate(link);
  }
}

void Connection::on_connection_close(proton::connection& c) {
  if (c.error()) last_error_ = copy_of(c.error());
}

void Connection::on_transport_close(proton::transport& t) {
  if (state_ == State::closed) {
    closing_ = false;
    return;
  }
  proton::error_condition error = t.error() ? copy_of(t.error()) : last_error_;
  if (!error)
    error = proton::error_condition(std::string(local_condition::network), "connection closed");
  bool was_open = state_ == State::open;
  if (was_open) runtime_.note_connection_lost();
  state_ = State::backoff;
  ++generation_;
  auto delay = backoff(++failures_, runtime_.options());
  next_attempt_ = Clock::now() + delay;
  last_error_ = error;
  cbs_sender_open_ = cbs_receiver_open_ = false;
  cbs_sender_ = proton::sender();
  cbs_receiver_ = proton::receiver();
  connection_ = proton::connection();
  cbs_queue_.clear();
  cbs_waiting_.clear();
  bool fatal = azure::condition::is_unauthorized(error.name()) || is_tls_failure(error);
  for (auto& [key, link] : links_) {
    link.state = Link::State::detached;
    link.sender_open = link.replies_open = false;
    link.sender = proton::sender();
    link.replies = proton::receiver();
    link.reply_address.clear();
    link.renew_at = Clock::time_point::max();
    Outcome outcome = failure(link, error, local_condition::network,
                              was_open ? "connection lost" : "cannot connect");
    if (fatal) {
      fail_all(link, outcome);
    } else {
      fail_in_flight(link, outcome);
    }
  }
  log::warn("amqp: {} {}: {}; retrying in {} ms", where_,
            was_open ? "connection lost" : "cannot connect", error.what(), delay.count());
}

void Connection::activate(Link& link) {
  if (state_ != State::open || link.state != Link::State::detached) return;
  if (uses_cbs()) {
    authorize(link, false);
  } else {
    attach(link);
  }
}

std::string Connection::token_for(const std::string& audience) const {
  const auto& cs = identity_->connection;
  if (cs.has_signature()) return cs.shared_access_signature;
  return azure::create_sas_token(audience, cs.shared_access_key_name, cs.shared_access_key,
                                 runtime_.options().token_validity);
}

void Connection::authorize(Link& link, bool renewal) {
  if (!renewal) link.state = Link::State::authorizing;
  std::string audience = identity_->connection.audience(link.entity);
  unsigned generation = generation_;
  std::string key = link.key;
  if (link.twoway && !link.fixed_reply_to.empty()) {
    // A fixed reply address is an entity of its own and needs its own (listen) claim. CBS
    // answers in order, so this token is settled before the entity's callback below attaches;
    // if it is refused, the reply link's refusal fails the posts with the service's reason.
    std::string reply_audience = identity_->connection.audience(link.fixed_reply_to);
    put_token(reply_audience, token_for(reply_audience),
              [this, generation, reply_audience](const azure::cbs::PutTokenResponse& r) {
                if (generation != generation_ || r.ok()) return;
                log::warn("amqp: put-token for the reply address {} on {} answered {} {}",
                          reply_audience, where_, r.status_code, r.status_description);
              });
  }
  put_token(audience, token_for(audience),
            [this, generation, key, renewal](const azure::cbs::PutTokenResponse& r) {
              if (generation != generation_) return;
              Link& link = links_.at(key);
              const auto& options = runtime_.options();
              bool renewable = identity_->connection.has_key();
              if (r.ok()) {
                runtime_.note_token_put();
                link.renew_at =
                    renewable ? Clock::now() + (options.token_validity - options.token_renew_before)
                              : Clock::time_point::max();
                if (renewal) return;
                if (link.sender_open) {
                  link.state = Link::State::ready;
                  pump(link);
                } else {
                  attach(link);
                }
                return;
              }
              proton::error_condition error(r.error_condition, "put-token answered " +
                                                                   std::to_string(r.status_code) +
                                                                   " " + r.status_description);
              if (renewal) {
                // As the Azure SDKs do: a failed renewal is only logged; the service detaches the
                // link when the old token expires, and the detach is handled then.
                log::warn("amqp: renewing the token for {} on {} failed: {}", link.entity, where_,
                          error.what());
                link.renew_at = Clock::now() + std::chrono::minutes(1);
                return;
              }
              if (azure::condition::is_unauthorized(r.error_condition) && renewable &&
                  !link.token_refreshed) {
                link.token_refreshed = true;
                authorize(link, false);
                return;
              }
              link.state = Link::State::detached;
              Outcome outcome = failure(link, error, azure::condition::unauthorized_access,
                                        "authorization refused");
              if (outcome.retryable()) {
                link.retry_at = Clock::now() + backoff(++link.detach_failures, options);
                fail_in_flight(link, outcome);
              } else {
                fail_all(link, outcome);
              }
            });
}

void Connection::put_token(std::string audience, std::string token, CbsCallback done) {
  cbs_queue_.push_back(
      {proton::uuid::random().str(), std::move(audience), std::move(token), std::move(done), {}});
  pump_cbs();
}

void Connection::pump_cbs() {
  if (!cbs_sender_open_ || !cbs_receiver_open_) return;
  while (!cbs_queue_.empty() && cbs_sender_.credit() > 0) {
    CbsRequest request = std::move(cbs_queue_.front());
    cbs_queue_.pop_front();
    azure::cbs::PutTokenRequest put;
    put.token = request.token;
    put.audience = request.audience;
    put.message_id = request.id;
    put.reply_to = cbs_reply_to_;
    cbs_sender_.send(put.to_message());
    request.sent_at = Clock::now();
    std::string id = request.id;
    cbs_waiting_.emplace(std::move(id), std::move(request));
  }
}

void Connection::attach(Link& link) {
  link.state = Link::State::attaching;
  std::string suffix = proton::uuid::random().str().substr(0, 8);
  link.sender =
      connection_.open_sender(link.entity, proton::sender_options()
                                               .name(link.entity + "-" + suffix)
                                               .delivery_mode(proton::delivery_mode::AT_LEAST_ONCE)
                                               .auto_settle(true));
  if (link.twoway && !link.replies_open) open_replies(link);
}

void Connection::open_replies(Link& link) {
  proton::receiver_options ro;
  ro.credit_window(static_cast<int>(runtime_.options().window))
      .name(link.entity + "-reply-" + proton::uuid::random().str().substr(0, 8));
  if (!link.fixed_reply_to.empty()) {
    link.replies = connection_.open_receiver(link.fixed_reply_to, ro);
  } else {
    proton::source_options so;
    so.dynamic(true);  // the service names the reply address in its attach
    ro.source(so);
    link.replies = connection_.open_receiver("", ro);
  }
}

bool Connection::ready(const Link& link) const {
  return link.sender_open && (!link.twoway || (link.replies_open && !link.reply_address.empty()));
}

Connection::Link* Connection::link_of(const proton::sender& sender) {
  for (auto& [key, link] : links_) {
    if (link.sender == sender) return &link;
  }
  return nullptr;
}

Connection::Link* Connection::link_of(const proton::receiver& receiver) {
  for (auto& [key, link] : links_) {
    if (link.replies == receiver) return &link;
  }
  return nullptr;
}

void Connection::on_sender_open(proton::sender& s) {
  if (s == cbs_sender_) {
    cbs_sender_open_ = true;
    pump_cbs();
    return;
  }
  Link* link = link_of(s);
  // A service that cannot find the entity answers with a null target and detaches at once.
  if (!link || s.target().address().empty()) return;
  link->sender_open = true;
  link->detach_failures = 0;
  if (ready(*link)) {
    link->state = Link::State::ready;
    pump(*link);
  }
}

void Connection::on_receiver_open(proton::receiver& r) {
  if (r == cbs_receiver_) {
    cbs_receiver_open_ = true;
    pump_cbs();
    return;
  }
  Link* link = link_of(r);
  if (!link) return;
  link->replies_open = true;
  link->reply_address = link->fixed_reply_to.empty() ? r.source().address() : link->fixed_reply_to;
  if (ready(*link)) {
    link->state = Link::State::ready;
    pump(*link);
  }
}

void Connection::on_sender_close(proton::sender& s) {
  sender_lost(s);
}
void Connection::on_sender_detach(proton::sender& s) {
  sender_lost(s);
}

void Connection::sender_lost(proton::sender& s) {
  if (state_ != State::open) return;
  if (s == cbs_sender_) {
    // Without $cbs nothing can be authorized: start over on a fresh connection.
    connection_.close(
        proton::error_condition(std::string(azure::condition::detach_forced), "$cbs link closed"));
    return;
  }
  Link* found = link_of(s);
  if (!found || (!found->sender_open && found->state == Link::State::detached)) return;
  Link& link = *found;
  proton::error_condition error = s.error();
  link.sender_open = false;
  link.state = Link::State::detached;
  link.sender = proton::sender();
  const auto& options = runtime_.options();
  if (azure::condition::is_unauthorized(error.name()) && uses_cbs() &&
      identity_->connection.has_key() && !link.token_refreshed) {
    // Most likely an expired token: put a fresh one and resend what was not settled.
    link.token_refreshed = true;
    for (auto& [tag, post] : link.unsettled) link.queue.push_front(post);
    link.unsettled.clear();
    link.retry_at = Clock::now();
    activate(link);
    return;
  }
  Outcome outcome = failure(link, error, azure::condition::detach_forced, "link detached");
  if (outcome.retryable()) {
    fail_in_flight(link, outcome);
    link.retry_at = Clock::now() + backoff(++link.detach_failures, options);
  } else {
    fail_all(link, outcome);
  }
}

void Connection::on_receiver_close(proton::receiver& r) {
  if (state_ != State::open) return;
  if (r == cbs_receiver_) {
    connection_.close(
        proton::error_condition(std::string(azure::condition::detach_forced), "$cbs link closed"));
    return;
  }
  Link* link = link_of(r);
  if (!link) return;
  link->replies_open = false;
  link->reply_address.clear();
  Outcome outcome =
      failure(*link, r.error(), azure::condition::detach_forced, "reply link detached");
  for (auto& [id, post] : link->awaiting_reply) runtime_.finish(*post, outcome);
  link->awaiting_reply.clear();
  if (link->state == Link::State::ready) link->state = Link::State::attaching;
  open_replies(*link);
}

void Connection::on_receiver_detach(proton::receiver& r) {
  on_receiver_close(r);
}

void Connection::on_sendable(proton::sender& s) {
  if (s == cbs_sender_) {
    pump_cbs();
  } else if (Link* link = link_of(s)) {
    pump(*link);
  }
}

void Connection::pump(Link& link) {
  if (link.state != Link::State::ready || !ready(link)) return;
  const std::size_t window = runtime_.options().window;
  while (!link.queue.empty() && link.unsettled.size() < window && link.sender.credit() > 0) {
    std::shared_ptr<Post> post = std::move(link.queue.front());
    link.queue.pop_front();
    if (post->finished) continue;
    std::uint64_t tag = ++next_tag_;
    if (link.twoway) {
      // The reply address is known only here, so an encoded message is decoded to stamp it.
      proton::message& m = post->message;
      if (!post->encoded.empty()) {
        m.decode(std::vector<char>(post->encoded.begin(), post->encoded.end()));
        std::string().swap(post->encoded);
      }
      if (m.id().empty()) m.id(proton::uuid::random().str());
      m.reply_to(link.reply_address);
      link.awaiting_reply[proton::to_string(m.id())] = post;
    }
    if (post->encoded.empty()) {
      // The buffer keeps its capacity from one message to the next, so each is encoded once.
      post->message.encode(encode_buffer_);
      send_encoded(link.sender, std::string_view(encode_buffer_.data(), encode_buffer_.size()),
                   tag);
    } else {
      send_encoded(link.sender, post->encoded, tag);
    }
    link.unsettled.emplace(tag, std::move(post));
  }
  runtime_.note_unsettled(link.unsettled.size());
}

std::shared_ptr<Post> Connection::take_unsettled(const proton::tracker& t, Link*& link) {
  link = link_of(t.sender());
  if (!link) return nullptr;
  auto it = link->unsettled.find(tag_value(t.tag()));
  if (it == link->unsettled.end()) return nullptr;  // already timed out
  std::shared_ptr<Post> post = std::move(it->second);
  link->unsettled.erase(it);
  return post;
}

void Connection::on_tracker_accept(proton::tracker& t) {
  Link* link = nullptr;
  std::shared_ptr<Post> post = take_unsettled(t, link);
  if (!post) return;
  link->token_refreshed = false;
  if (!link->twoway) runtime_.finish(*post, Outcome::accepted());  // two-way waits for the reply
  pump(*link);
}

void Connection::on_tracker_reject(proton::tracker& t) {
  Link* link = nullptr;
  std::shared_ptr<Post> post = take_unsettled(t, link);
  if (!post) return;
  if (link->twoway) link->awaiting_reply.erase(proton::to_string(post->message.id()));
  proton::error_condition error = RawDelivery(t).remote_condition();
  if (azure::condition::is_unauthorized(error.name()) && uses_cbs() &&
      identity_->connection.has_key() && !link->token_refreshed) {
    link->token_refreshed = true;
    link->queue.push_front(std::move(post));
    authorize(*link, false);
    return;
  }
  runtime_.finish(*post, failure(*link, error, azure::condition::not_allowed, "rejected"));
  pump(*link);
}

void Connection::on_tracker_release(proton::tracker& t) {
  Link* link = nullptr;
  std::shared_ptr<Post> post = take_unsettled(t, link);
  if (!post) return;
  if (link->twoway) link->awaiting_reply.erase(proton::to_string(post->message.id()));
  bool modified = t.state() == proton::transfer::MODIFIED;
  runtime_.finish(*post,
                  Outcome::failure(modified ? local_condition::modified : local_condition::released,
                                   describe(*link, modified ? "the service answered modified"
                                                            : "the service released the message")));
  pump(*link);
}

void Connection::on_message(proton::delivery& d, proton::message& m) {
  proton::receiver r = d.receiver();
  if (r == cbs_receiver_) {
    auto it = cbs_waiting_.find(proton::to_string(m.correlation_id()));
    if (it == cbs_waiting_.end()) return;
    CbsRequest request = std::move(it->second);
    cbs_waiting_.erase(it);
    azure::cbs::PutTokenResponse response;
    try {
      response = azure::cbs::PutTokenResponse::from_message(m);
    } catch (const std::invalid_argument& e) {
      response.status_code = 500;
      response.status_description = e.what();
      response.error_condition = std::string(azure::condition::internal_error);
    }
    request.done(response);
    return;
  }
  Link* link = link_of(r);
  if (!link) return;
  auto it = link->awaiting_reply.find(proton::to_string(m.correlation_id()));
  if (it == link->awaiting_reply.end()) return;  // late reply to a post that timed out
  std::shared_ptr<Post> post = std::move(it->second);
  link->awaiting_reply.erase(it);
  runtime_.finish(*post, Outcome::accepted(body_text(m.body())));
}

void Connection::tick(Clock::time_point now) {
  const bool connected = state_ == State::open;
  auto overdue = [&](const Link& link, const Post& post, std::string_view what) {
    std::string text =
        std::string(what) + " within " + std::to_string(post.target().timeout.count()) + " ms";
    if (!connected && last_error_) {
      return Outcome::failure(
          local_condition::network,
          describe(link, text + "; last connection error: " + last_error_.what()));
    }
    return Outcome::failure(local_condition::timeout, describe(link, text));
  };
  bool queued = false;
  for (auto& entry : links_) {
    // A named reference, not a structured binding: the lambdas below capture it.
    auto& link = entry.second;
    std::erase_if(link.queue, [&](const std::shared_ptr<Post>& post) {
      if (post->finished) return true;
      if (post->deadline > now) return false;
      runtime_.finish(*post, overdue(link, *post, "not sent"));
      return true;
    });
    std::erase_if(link.unsettled, [&](const auto& entry) {
      if (entry.second->finished) return true;
      if (entry.second->deadline > now) return false;
      runtime_.finish(*entry.second, overdue(link, *entry.second, "not settled"));
      return true;
    });
    std::erase_if(link.awaiting_reply, [&](const auto& entry) {
      if (entry.second->finished) return true;
      if (entry.second->deadline > now) return false;
      runtime_.finish(*entry.second, overdue(link, *entry.second, "no reply"));
      return true;
    });
    queued = queued || !link.queue.empty();
    if (connected) {
      if (link.state == Link::State::detached && !link.queue.empty() && now >= link.retry_at)
        activate(link);
      if (uses_cbs() && link.state == Link::State::ready && now >= link.renew_at) {
        link.renew_at = Clock::time_point::max();
        authorize(link, true);
      }
    }
  }
  // Callbacks may queue new requests, so unanswered ones are taken out before they run.
  std::vector<CbsCallback> unanswered;
  std::erase_if(cbs_waiting_, [&](auto& entry) {
    if (now - entry.second.sent_at < cbs_timeout) return false;
    unanswered.push_back(std::move(entry.second.done));
    return true;
  });
  for (auto& done : unanswered) {
    azure::cbs::PutTokenResponse timed_out;
    timed_out.status_code = 408;
    timed_out.status_description = "no reply from $cbs";
    timed_out.error_condition = std::string(azure::condition::timeout);
    done(timed_out);
  }
  if (state_ == State::backoff && queued && now >= next_attempt_) connect();
  if (state_ == State::connecting && now - connecting_since_ > runtime_.options().connect_timeout) {
    give_up_connecting(now);
  }
  flush();
}

void Connection::give_up_connecting(Clock::time_point now) {
  // A peer that accepted TCP but never answers would hold the connection in the handshake
  // forever (the idle timeout only starts once AMQP is open), and Proton C++ cannot abort one
  // connection: closing both ends of its transport makes the proactor drop the socket and report
  // the transport closed, with this condition.
  connecting_since_ = now;  // once
  pn_transport_t* transport = pn_connection_transport(RawConnection(connection_).get());
  if (!transport) return;
  std::string what =
      "no AMQP open within " + std::to_string(runtime_.options().connect_timeout.count()) + " ms";
  pn_condition_t* condition = pn_transport_condition(transport);
  pn_condition_set_name(condition, std::string(local_condition::timeout).c_str());
  pn_condition_set_description(condition, what.c_str());
  pn_transport_close_tail(transport);
  pn_transport_close_head(transport);
}

void Connection::close(const Outcome& outcome) {
  State previous = state_;
  state_ = State::closed;
  if (previous == State::open) runtime_.note_connection_lost();
  for (auto& [key, link] : links_) fail_all(link, outcome);
  cbs_queue_.clear();
  cbs_waiting_.clear();
  if (!connection_ || (previous != State::open && previous != State::connecting)) return;
  // Links first, then the connection, as the Azure SDKs leave: the service sees an orderly end,
  // not a dropped socket.
  if (previous == State::open) {
    for (auto& [key, link] : links_) {
      if (link.sender && link.sender.active()) link.sender.close();
      if (link.replies && link.replies.active()) link.replies.close();
    }
    if (cbs_sender_ && cbs_sender_.active()) cbs_sender_.close();
    if (cbs_receiver_ && cbs_receiver_.active()) cbs_receiver_.close();
  }
  connection_.close();
  closing_ = true;
  // Work done outside the connection's own events is written at its next wake.
  connection_.wake();
}

void Connection::fail_in_flight(Link& link, const Outcome& outcome) {
  for (auto& [tag, post] : link.unsettled) runtime_.finish(*post, outcome);
  link.unsettled.clear();
  for (auto& [id, post] : link.awaiting_reply) runtime_.finish(*post, outcome);
  link.awaiting_reply.clear();
}

void Connection::fail_all(Link& link, const Outcome& outcome) {
  fail_in_flight(link, outcome);
  for (auto& post : link.queue) runtime_.finish(*post, outcome);
  link.queue.clear();
}

std::string Connection::describe(const Link& link, std::string_view what) const {
  return "'" + link.entity + "' on " + where_ + ": " + std::string(what);
}

Outcome Connection::failure(const Link& link, const proton::error_condition& error,
                            std::string_view fallback_condition, std::string_view what) const {
  std::string name = error.name();
  std::string text = std::string(what);
  if (error) text += ": " + error.what();
  if (is_tls_failure(error)) return Outcome::failure(local_condition::tls, describe(link, text));
  bool amqp_condition = name.rfind("amqp:", 0) == 0 || name.rfind("com.microsoft:", 0) == 0;
  if (!amqp_condition) {
    // Transport-level failures (proton:io, …) are network trouble.
    return Outcome::failure(error ? local_condition::network : fallback_condition,
                            describe(link, text));
  }
  return Outcome::failure(name, describe(link, text));
}

}  // namespace stepline::host::amqp
