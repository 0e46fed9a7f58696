// A small in-process AMQP 1.0 peer on Qpid Proton C++ for tests that need behaviour RabbitMQ
// cannot show: TLS with a test CA, CBS put-token checked with the Azure library, withheld
// settlement (to watch a sender's window), rejections with chosen conditions, forced closes,
// dynamic reply addresses and two-way replies, credit withheld. Listens on 127.0.0.1 on a free
// port, SASL ANONYMOUS only.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <proton/message.hpp>

namespace stepline::test {

struct TestPeerOptions {
  std::string tls_cert{}, tls_key{};  ///< both set = TLS listener
  bool hold_settlement = false;       ///< leave deliveries unsettled until settle_held()
  std::string reject_condition{};     ///< reject every message with this condition
  bool release = false;               ///< release every message
  /// Shared access rules for $cbs put-token; empty = tokens are not checked (all accepted).
  std::map<std::string, std::string> cbs_keys{};
  /// Addresses that do not exist: an attach is answered with a null target and closed with
  /// amqp:not-found, as Service Bus does.
  std::vector<std::string> missing{};
  /// Idle timeout the peer announces (0 = none): a client that sends no heartbeat within it is
  /// disconnected.
  std::chrono::milliseconds idle_timeout{0};
  /// Messages to this address that carry reply-to are answered with "reply:" + body.
  std::string responder_address = "responder";
  /// Grant senders no credit until grant_credit(): a broker too busy to take messages.
  bool withhold_credit = false;
};

class TestPeer {
 public:
  explicit TestPeer(TestPeerOptions options = {});
  ~TestPeer();
  TestPeer(const TestPeer&) = delete;
  TestPeer& operator=(const TestPeer&) = delete;

  int port() const;
  /// "Endpoint=sb://<host>:<port>/;SharedAccessKeyName=…;SharedAccessKey=…" plus
  /// ";UseDevelopmentEmulator=true" when the peer is plain TCP.
  std::string connection_string(const std::string& key_name = "send",
                                const std::string& key = "key",
                                const std::string& host = "127.0.0.1") const;

  /// Messages received so far (in arrival order), with the address they were sent to in `to`
  /// when the sender left it empty.
  std::vector<proton::message> messages() const;
  std::size_t unsettled() const;
  std::size_t max_unsettled() const;
  /// Connections that ended with a close frame from the client, and those whose socket went
  /// without one.
  std::size_t closed_connections() const;
  std::size_t dropped_connections() const;
  /// Links the client detached with a close.
  std::size_t closed_links() const;
  /// Audiences of put-token requests, in order, and how each was answered.
  std::vector<std::pair<std::string, int>> put_tokens() const;
  /// Accepts every withheld delivery.
  void settle_held();
  /// Ends withhold_credit: every sender link, open or to come, gets credit as usual.
  void grant_credit();
  /// Closes every connection with amqp:connection:forced.
  void force_close();
  /// Detaches every link on which the peer receives messages, with `condition`.
  void detach_senders(const std::string& condition);

  /// Polls `condition` until it holds or `timeout` passes; returns its last value.
  static bool wait_for(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace stepline::test
