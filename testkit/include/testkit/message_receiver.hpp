// A plain Proton C++ receiver that keeps whole messages (properties, annotations, body), for
// tests that check what a listener sees. It can also play a two-way listener: every message with
// a reply-to is answered on that address with correlation-id = its message-id.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <proton/message.hpp>

namespace stepline::test {

struct ReceiverOptions {
  std::string user;      ///< SASL PLAIN user (a policy name on stepline-broker); empty = ANONYMOUS
  std::string password;  ///< the PLAIN password (the policy's key)
  /// Set = answer each message that has a reply-to with the body this returns.
  std::function<std::string(const proton::message&)> reply;
};

/// What a receiver keeps of each message.
enum class Keep { messages, count_only /* benchmarks: memory stays flat */ };

class MessageReceiver {
 public:
  /// Connects to `url` (amqp://host:port), attaches to every address in `addresses` and returns
  /// once all are attached; throws std::runtime_error naming the address after 10 s or on error.
  MessageReceiver(const std::string& url, const std::vector<std::string>& addresses,
                  ReceiverOptions options = {}, Keep keep = Keep::messages);
  ~MessageReceiver();
  MessageReceiver(const MessageReceiver&) = delete;
  MessageReceiver& operator=(const MessageReceiver&) = delete;

  /// Messages received so far, in arrival order (none with Keep::count_only).
  std::vector<proton::message> messages() const;
  /// Their bodies, as body_text() gives them.
  std::vector<std::string> bodies() const;
  std::size_t count() const;
  /// Waits until at least `n` messages arrived; false after `timeout_ms`.
  bool wait_for(std::size_t n, int timeout_ms = 10000) const;
  /// Takes everything the broker holds for the addresses: drains every receiver's credit until a
  /// drain round brings no message. False when that does not happen within `timeout_ms`.
  bool drain(int timeout_ms = 60000);

  /// The body as text: a data section's bytes, a string value, else Proton's rendering.
  static std::string body_text(const proton::message& m);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace stepline::test
