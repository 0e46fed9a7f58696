#include "testkit/test_peer.hpp"

#include <algorithm>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/error_condition.hpp>
#include <proton/listen_handler.hpp>
#include <proton/listener.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/source_options.hpp>
#include <proton/ssl.hpp>
#include <proton/target_options.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>
#include <proton/value.hpp>
#include <proton/work_queue.hpp>

#include <proton/condition.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/link.h>
#include <proton/terminus.h>

#include <stepline/azure/cbs.hpp>
#include <stepline/azure/sas_token.hpp>

namespace stepline::test {
namespace {

// Proton C++ does not show a link's remote terminus or set a rejected outcome's error; the C
// objects behind the wrappers do.
template <class Link>
struct RawLink : Link {
  explicit RawLink(const Link& l) : Link(l) {}
  std::string remote_target() const { return address(pn_link_remote_target(this->pn_object())); }
  std::string remote_source() const { return address(pn_link_remote_source(this->pn_object())); }
  bool remote_source_dynamic() const {
    return pn_terminus_is_dynamic(pn_link_remote_source(this->pn_object()));
  }
  static std::string address(pn_terminus_t* t) {
    const char* a = t ? pn_terminus_get_address(t) : nullptr;
    return a ? a : "";
  }
};

struct RawDelivery : proton::delivery {
  explicit RawDelivery(const proton::delivery& d) : proton::delivery(d) {}
  void reject(const std::string& condition, const std::string& description) {
    pn_delivery_t* d = pn_object();
    pn_condition_t* c = pn_disposition_condition(pn_delivery_local(d));
    pn_condition_set_name(c, condition.c_str());
    pn_condition_set_description(c, description.c_str());
    pn_delivery_update(d, PN_REJECTED);
    pn_delivery_settle(d);
  }
};

std::string text_of(const proton::value& v) {
  if (v.type() == proton::STRING) return proton::get<std::string>(v);
  if (v.type() == proton::BINARY) {
    auto b = proton::get<proton::binary>(v);
    return std::string(b.begin(), b.end());
  }
  return proton::to_string(v);
}

}  // namespace

struct TestPeer::State : proton::messaging_handler, proton::listen_handler {
  TestPeerOptions options;
  proton::container container;
  proton::work_queue work{container};
  proton::listener listener;
  std::thread thread;
  std::promise<int> opened;
  int port = 0;

  // AMQP thread only.
  std::vector<proton::delivery> held;
  std::vector<proton::connection> connections;
  std::vector<proton::receiver> incoming;
  std::map<std::string, proton::sender> senders_by_address, senders_by_name;
  int next_dynamic = 0;

  mutable std::mutex mutex;
  std::vector<proton::message> received;
  std::size_t unsettled = 0, max_unsettled = 0;
  std::vector<std::pair<std::string, int>> tokens;
  std::size_t closed_connections = 0, dropped_connections = 0, closed_links = 0;

  explicit State(TestPeerOptions o) : options(std::move(o)) {}

  // listen_handler
  void on_open(proton::listener& l) override { opened.set_value(l.port()); }
  void on_error(proton::listener&, const std::string& what) override {
    opened.set_exception(
        std::make_exception_ptr(std::runtime_error("test peer cannot listen: " + what)));
  }
  proton::connection_options on_accept(proton::listener&) override {
    proton::connection_options o;
    o.handler(*this).sasl_enabled(true).sasl_allowed_mechs("ANONYMOUS");
    if (options.idle_timeout.count() > 0)
      o.idle_timeout(proton::duration(options.idle_timeout.count()));
    if (!options.tls_cert.empty()) {
      o.ssl_server_options(
          proton::ssl_server_options(proton::ssl_certificate(options.tls_cert, options.tls_key)));
    }
    return o;
  }

  // messaging_handler
  void on_error(const proton::error_condition&) override {}
  void on_transport_error(proton::transport&) override {}
  void on_connection_error(proton::connection&) override {}
  void on_session_error(proton::session&) override {}
  void on_sender_error(proton::sender&) override {}
  void on_receiver_error(proton::receiver&) override {}

  void on_connection_open(proton::connection& c) override {
    connections.push_back(c);
    c.open();
  }
  void on_transport_close(proton::transport& t) override {
    std::erase(connections, t.connection());
    // A close frame from the client was answered (so both ends are closed), or its socket went.
    std::lock_guard lock(mutex);
    ++(t.connection().closed() ? closed_connections : dropped_connections);
  }
  void on_receiver_close(proton::receiver&) override {
    std::lock_guard lock(mutex);
    ++closed_links;
  }
  void on_sender_close(proton::sender&) override {
    std::lock_guard lock(mutex);
    ++closed_links;
  }

  void on_receiver_open(proton::receiver& r) override {
    std::string address = RawLink<proton::receiver>(r).remote_target();
    if (std::find(options.missing.begin(), options.missing.end(), address) !=
        options.missing.end()) {
      proton::target_options none;
      r.open(proton::receiver_options().target(none));
      r.close(proton::error_condition(
          "amqp:not-found", "The messaging entity '" + address + "' could not be found."));
      return;
    }
    if (address != "$cbs") incoming.push_back(r);
    proton::target_options echo;
    echo.address(address);
    // $cbs always gets credit: a client must be able to authenticate to find credit withheld.
    const bool withheld = options.withhold_credit && address != "$cbs";
    r.open(proton::receiver_options()
               .credit_window(withheld ? 0 : 4096)
               .auto_accept(false)
               .target(echo));
  }

  void on_sender_open(proton::sender& s) override {
    RawLink<proton::sender> raw(s);
    std::string address = raw.remote_source();
    if (raw.remote_source_dynamic()) address = "dynamic-" + std::to_string(++next_dynamic);
    s.open(proton::sender_options().source(proton::source_options().address(address)));
    senders_by_address[address] = s;
    senders_by_name[s.name()] = s;
  }

  void on_message(proton::delivery& d, proton::message& m) override {
    std::string address = RawLink<proton::receiver>(d.receiver()).remote_target();
    if (address == "$cbs") return put_token(d, m);
    if (m.to().empty()) m.to(address);
    {
      std::lock_guard lock(mutex);
      received.push_back(m);
    }
    if (options.release) {
      d.release();
    } else if (!options.reject_condition.empty()) {
      RawDelivery(d).reject(options.reject_condition, "the test peer refuses every message");
    } else if (options.hold_settlement) {
      held.push_back(d);
      std::lock_guard lock(mutex);
      max_unsettled = std::max(max_unsettled, ++unsettled);
    } else {
      d.accept();
    }
    if (address == options.responder_address && !m.reply_to().empty()) {
      auto it = senders_by_address.find(m.reply_to());
      if (it != senders_by_address.end()) {
        proton::message reply;
        reply.correlation_id(m.id());
        reply.body("reply:" + text_of(m.body()));
        it->second.send(reply);
      }
    }
  }

  void put_token(proton::delivery& d, proton::message& m) {
    int status = 200;
    std::string description = "OK";
    std::string audience;
    try {
      auto request = azure::cbs::PutTokenRequest::from_message(m);
      audience = request.audience;
      if (!options.cbs_keys.empty()) {
        auto verdict = azure::verify_sas_token(
            request.token,
            [this](std::string_view name) -> std::optional<std::string> {
              auto it = options.cbs_keys.find(std::string(name));
              if (it == options.cbs_keys.end()) return std::nullopt;
              return it->second;
            },
            request.audience);
        if (!verdict) status = 401, description = verdict.reason;
      }
    } catch (const std::exception& e) {
      status = 400, description = e.what();
    }
    {
      std::lock_guard lock(mutex);
      tokens.emplace_back(audience, status);
    }
    d.accept();
    // Replies are routed by reply-to to the receiver link of that name, as clients expect.
    auto it = senders_by_name.find(m.reply_to());
    if (it != senders_by_name.end())
      it->second.send(azure::cbs::PutTokenResponse::reply(m, status, description));
  }
};

TestPeer::TestPeer(TestPeerOptions options) : state_(std::make_shared<State>(std::move(options))) {
  auto future = state_->opened.get_future();
  state_->listener = state_->container.listen("127.0.0.1:0", *state_);
  state_->thread = std::thread([s = state_.get()] { s->container.run(); });
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    throw std::runtime_error("test peer did not start listening");
  }
  state_->port = future.get();
}

TestPeer::~TestPeer() {
  State* s = state_.get();
  s->work.add([s] {
    s->listener.stop();
    for (auto& c : s->connections) c.close();
    s->container.stop();
  });
  s->thread.join();
}

int TestPeer::port() const {
  return state_->port;
}

std::string TestPeer::connection_string(const std::string& key_name, const std::string& key,
                                        const std::string& host) const {
  std::string text = "Endpoint=sb://" + host + ":" + std::to_string(port()) +
                     "/;SharedAccessKeyName=" + key_name + ";SharedAccessKey=" + key;
  if (state_->options.tls_cert.empty()) text += ";UseDevelopmentEmulator=true";
  return text;
}

std::vector<proton::message> TestPeer::messages() const {
  std::lock_guard lock(state_->mutex);
  return state_->received;
}

std::size_t TestPeer::unsettled() const {
  std::lock_guard lock(state_->mutex);
  return state_->unsettled;
}

std::size_t TestPeer::closed_connections() const {
  std::lock_guard lock(state_->mutex);
  return state_->closed_connections;
}

std::size_t TestPeer::dropped_connections() const {
  std::lock_guard lock(state_->mutex);
  return state_->dropped_connections;
}

std::size_t TestPeer::closed_links() const {
  std::lock_guard lock(state_->mutex);
  return state_->closed_links;
}

std::size_t TestPeer::max_unsettled() const {
  std::lock_guard lock(state_->mutex);
  return state_->max_unsettled;
}

std::vector<std::pair<std::string, int>> TestPeer::put_tokens() const {
  std::lock_guard lock(state_->mutex);
  return state_->tokens;
}

void TestPeer::settle_held() {
  State* s = state_.get();
  s->work.add([s] {
    for (auto& d : s->held) d.accept();
    s->held.clear();
    // Work run outside a connection's own events must wake it, or its output waits.
    for (auto& c : s->connections) c.wake();
    std::lock_guard lock(s->mutex);
    s->unsettled = 0;
  });
}

void TestPeer::grant_credit() {
  State* s = state_.get();
  s->work.add([s] {
    if (!s->options.withhold_credit) return;
    s->options.withhold_credit = false;
    // Links opened without a credit window get a large grant instead.
    for (auto& r : s->incoming)
      if (r.active()) r.add_credit(1 << 20);
    for (auto& c : s->connections) c.wake();
  });
}

void TestPeer::detach_senders(const std::string& condition) {
  State* s = state_.get();
  s->work.add([s, condition] {
    for (auto& r : s->incoming) {
      if (r.active())
        r.close(proton::error_condition(condition, "the test peer detached the link"));
    }
    s->incoming.clear();
    // Held deliveries die with their links.
    s->held.clear();
    {
      std::lock_guard lock(s->mutex);
      s->unsettled = 0;
    }
    for (auto& c : s->connections) c.wake();
  });
}

void TestPeer::force_close() {
  State* s = state_.get();
  s->work.add([s] {
    for (auto& c : s->connections) {
      c.close(
          proton::error_condition("amqp:connection:forced", "the test peer closed the connection"));
      c.wake();
    }
  });
}

bool TestPeer::wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace stepline::test
