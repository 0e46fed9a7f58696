#include "testkit/message_receiver.hpp"

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/error.hpp>
#include <proton/message_id.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/source.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>
#include <proton/value.hpp>
#include <proton/work_queue.hpp>

namespace stepline::test {

struct MessageReceiver::State : proton::messaging_handler {
  std::string url;
  std::vector<std::string> addresses;
  ReceiverOptions options;
  Keep keep = Keep::messages;
  proton::container container{*this};
  proton::work_queue work{container};
  proton::connection connection;
  std::map<std::string, proton::sender> repliers;
  std::size_t attached_count = 0;
  std::promise<void> attached;
  bool attach_reported = false;
  std::thread thread;
  mutable std::mutex mutex;
  std::vector<proton::message> messages;
  std::size_t received = 0;
  std::vector<proton::receiver> receivers;
  std::size_t draining = 0;                     // receivers whose drain has not finished
  std::shared_ptr<std::promise<void>> drained;  // set when `draining` reaches 0

  void on_container_start(proton::container& c) override {
    proton::connection_options o;
    o.sasl_allow_insecure_mechs(true).idle_timeout(proton::duration(30000));
    if (options.user.empty()) {
      o.sasl_allowed_mechs("ANONYMOUS");
    } else {
      o.user(options.user).password(options.password).sasl_allowed_mechs("PLAIN");
    }
    connection = c.connect(url, o);
    for (const auto& address : addresses)
      receivers.push_back(
          connection.open_receiver(address, proton::receiver_options().credit_window(500)));
  }
  void start_drain(std::shared_ptr<std::promise<void>> done) {
    drained = std::move(done);
    draining = receivers.size();
    for (auto& r : receivers) {
      try {
        r.drain();
      } catch (const proton::error&) {
        // A round that timed out is still under way on this link: its finish counts for this one.
      }
    }
    // Work-queue callbacks run outside the connection's events: without a wake the drain request
    // waits for the connection's next event (a heartbeat) to be written.
    connection.wake();
  }
  void on_receiver_drain_finish(proton::receiver&) override {
    if (draining > 0 && --draining == 0) drained->set_value();
  }
  void on_receiver_open(proton::receiver& r) override {
    if (r.source().address().empty()) return;  // refused; the detach reports the error
    if (++attached_count == addresses.size()) report({});
  }
  void on_message(proton::delivery& d, proton::message& m) override {
    if (options.reply && !m.reply_to().empty()) {
      proton::message answer;
      answer.body(options.reply(m));
      answer.correlation_id(m.id());
      auto it = repliers.find(m.reply_to());
      if (it == repliers.end())
        it = repliers.emplace(m.reply_to(), connection.open_sender(m.reply_to())).first;
      pending_replies.emplace_back(it->second, std::move(answer));
      flush();
    }
    std::lock_guard lock(mutex);
    ++received;
    if (keep == Keep::messages) messages.push_back(m);
  }
  std::vector<std::pair<proton::sender, proton::message>> pending_replies;
  void flush() {
    std::erase_if(pending_replies, [](auto& entry) {
      if (entry.first.credit() <= 0) return false;
      entry.first.send(entry.second);
      return true;
    });
  }
  void on_sendable(proton::sender&) override { flush(); }
  void on_receiver_error(proton::receiver& r) override { fail(r.error(), r.source().address()); }
  std::promise<void> ended;  // the connection's transport closed
  bool end_reported = false;
  void on_transport_close(proton::transport&) override {
    if (end_reported) return;
    end_reported = true;
    ended.set_value();
  }
  void on_error(const proton::error_condition& e) override { fail(e, url); }
  void fail(const proton::error_condition& e, const std::string& where) {
    report(std::make_exception_ptr(std::runtime_error("receiver on " + where + ": " + e.what())));
  }
  void report(std::exception_ptr error) {
    if (attach_reported) return;
    attach_reported = true;
    if (error) {
      attached.set_exception(error);
    } else {
      attached.set_value();
    }
  }
};

MessageReceiver::MessageReceiver(const std::string& url, const std::vector<std::string>& addresses,
                                 ReceiverOptions options, Keep keep)
    : state_(std::make_unique<State>()) {
  state_->keep = keep;
  state_->url = url;
  state_->addresses = addresses;
  state_->options = std::move(options);
  auto future = state_->attached.get_future();
  state_->thread = std::thread([s = state_.get()] {
    try {
      s->container.run();
    } catch (const std::exception&) {
    }
  });
  try {
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
      throw std::runtime_error("receiver on " + url + " did not attach within 10 s");
    future.get();
  } catch (...) {
    State* s = state_.get();
    s->work.add([s] { s->container.stop(); });
    s->thread.join();
    throw;
  }
}

MessageReceiver::~MessageReceiver() {
  State* s = state_.get();
  // Closed as a client should close, so the broker's log shows no aborted connection; the
  // container stops by itself once the transport is closed. A broker that does not answer
  // within 5 s is dropped.
  auto ended = s->ended.get_future();
  s->work.add([s] {
    s->connection.close();
    s->connection.wake();
  });
  if (ended.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
    s->work.add([s] { s->container.stop(); });
  s->thread.join();
}

std::vector<proton::message> MessageReceiver::messages() const {
  std::lock_guard lock(state_->mutex);
  return state_->messages;
}

std::vector<std::string> MessageReceiver::bodies() const {
  std::vector<std::string> out;
  for (const auto& m : messages()) out.push_back(body_text(m));
  return out;
}

std::size_t MessageReceiver::count() const {
  std::lock_guard lock(state_->mutex);
  return state_->received;
}

bool MessageReceiver::wait_for(std::size_t n, int timeout_ms) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (count() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool MessageReceiver::drain(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  State* s = state_.get();
  for (;;) {
    // Messages of a link arrive before the flow that ends its drain, so a round that brought
    // nothing means the broker had nothing left.
    const std::size_t before = count();
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    s->work.add([s, done] { s->start_drain(done); });
    if (finished.wait_until(deadline) != std::future_status::ready) return false;
    if (count() == before) return true;
  }
}

std::string MessageReceiver::body_text(const proton::message& m) {
  const proton::value& body = m.body();
  if (body.type() == proton::STRING) return proton::get<std::string>(body);
  if (body.type() == proton::BINARY) {
    auto bytes = proton::get<proton::binary>(body);
    return std::string(bytes.begin(), bytes.end());
  }
  return proton::to_string(body);
}

}  // namespace stepline::test
