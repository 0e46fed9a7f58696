// A plain Proton C++ receiver on its own container thread: attaches to one address (on RabbitMQ,
// /queue/<name> declares the queue), accepts everything and keeps the bodies as text.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace stepline::test {

class QueueReceiver {
 public:
  /// Connects to `url` (amqp://host:port) with SASL PLAIN and attaches to `address`; returns
  /// once the link is attached, or throws std::runtime_error after 10 s.
  /// With `keep_bodies` false only the count is kept (for benchmarks).
  QueueReceiver(const std::string& url, const std::string& address,
                const std::string& user = "guest", const std::string& password = "guest",
                bool keep_bodies = true);
  ~QueueReceiver();
  QueueReceiver(const QueueReceiver&) = delete;
  QueueReceiver& operator=(const QueueReceiver&) = delete;

  std::vector<std::string> bodies() const;
  std::size_t count() const;
  /// Waits until at least `n` messages arrived; returns false after `timeout_ms`.
  bool wait_for(std::size_t n, int timeout_ms = 10000) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace stepline::test
