// A private RabbitMQ 3.10 node with the AMQP 1.0 plug-in for tests and benchmarks: listeners on
// 127.0.0.1 only, free ports, its own node name, data and logs in a temporary folder, stopped by
// pid. Log in with SASL PLAIN guest/guest; address queues as /queue/<name> (declared on attach)
// or /amq/queue/<name> (must exist).
#pragma once

#include <sys/types.h>
#include <string>

#include "testkit/process.hpp"

namespace stepline::test {

class RabbitMq {
 public:
  /// Starts the node and waits until it accepts AMQP; throws std::runtime_error with the log's
  /// tail when it does not come up within a minute.
  RabbitMq();
  ~RabbitMq();
  RabbitMq(const RabbitMq&) = delete;
  RabbitMq& operator=(const RabbitMq&) = delete;

  /// True when rabbitmq-server is installed (./dev setup --tests installs it).
  static bool installed();

  int port() const { return port_; }
  /// "amqp://127.0.0.1:<port>"
  std::string url() const;
  /// A connection string for the guest user over plain amqp:// (needs allow_plain_amqp).
  std::string connection_string(const std::string& password = "guest") const;

  /// Stops the node (SIGTERM to its pid) and keeps its data for start().
  void stop();
  /// Starts it again on the same ports and data.
  void start();

 private:
  TempDir dir_;
  int port_, dist_port_, epmd_port_;
  std::string node_;
  pid_t pid_ = -1;
};

}  // namespace stepline::test
