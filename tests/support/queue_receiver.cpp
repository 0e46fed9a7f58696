#include "support/queue_receiver.hpp"

#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/value.hpp>
#include <proton/work_queue.hpp>

namespace stepline::test {

struct QueueReceiver::State : proton::messaging_handler {
  std::string url, address, user, password;
  proton::container container{*this};
  proton::work_queue work{container};
  proton::connection connection;
  std::promise<void> attached;
  bool attach_reported = false;
  std::thread thread;
  mutable std::mutex mutex;
  std::vector<std::string> bodies;
  bool keep_bodies = true;
  std::size_t received = 0;

  void on_container_start(proton::container& c) override {
    connection = c.connect(url, proton::connection_options()
                                    .user(user)
                                    .password(password)
                                    .sasl_allowed_mechs("PLAIN")
                                    .sasl_allow_insecure_mechs(true));
    connection.open_receiver(address, proton::receiver_options().credit_window(1000));
  }
  void on_receiver_open(proton::receiver&) override { report({}); }
  void on_message(proton::delivery&, proton::message& m) override {
    if (!keep_bodies) {
      std::lock_guard lock(mutex);
      ++received;
      return;
    }
    const proton::value& body = m.body();
    std::string text;
    if (body.type() == proton::STRING) {
      text = proton::get<std::string>(body);
    } else if (body.type() == proton::BINARY) {
      auto b = proton::get<proton::binary>(body);
      text.assign(b.begin(), b.end());
    } else {
      text = proton::to_string(body);
    }
    std::lock_guard lock(mutex);
    bodies.push_back(std::move(text));
    ++received;
  }
  void on_error(const proton::error_condition& e) override {
    report(std::make_exception_ptr(std::runtime_error("receiver on " + address + ": " + e.what())));
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

QueueReceiver::QueueReceiver(const std::string& url, const std::string& address,
                             const std::string& user, const std::string& password, bool keep_bodies)
    : state_(std::make_unique<State>()) {
  state_->keep_bodies = keep_bodies;
  state_->url = url;
  state_->address = address;
  state_->user = user;
  state_->password = password;
  auto future = state_->attached.get_future();
  state_->thread = std::thread([s = state_.get()] {
    try {
      s->container.run();
    } catch (const std::exception&) {
    }
  });
  try {
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      throw std::runtime_error("receiver on " + address + " did not attach within 10 s");
    }
    future.get();
  } catch (...) {
    State* s = state_.get();
    s->work.add([s] { s->container.stop(); });
    s->thread.join();
    throw;
  }
}

QueueReceiver::~QueueReceiver() {
  State* s = state_.get();
  s->work.add([s] { s->container.stop(); });
  s->thread.join();
}

std::vector<std::string> QueueReceiver::bodies() const {
  std::lock_guard lock(state_->mutex);
  return state_->bodies;
}

std::size_t QueueReceiver::count() const {
  std::lock_guard lock(state_->mutex);
  return state_->received;
}

bool QueueReceiver::wait_for(std::size_t n, int timeout_ms) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (count() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace stepline::test
