// stepline-test-rabbitmq: the RabbitMQ fixture for scripts. Starts a private node, prints
// "ready <amqp url> <port>" on stdout, and stops the node when it gets SIGTERM or SIGINT or
// when stdin reaches end of file.
//
//   coproc RMQ { exec build/bin/stepline-test-rabbitmq; }
//   read -r _ url port <&"${RMQ[0]}"   # ... use $url ...; kill "$RMQ_PID"
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include <poll.h>
#include <unistd.h>

#include "testkit/rabbitmq.hpp"

namespace {
volatile std::sig_atomic_t stop_requested = 0;
void request_stop(int) {
  stop_requested = 1;
}
}  // namespace

int main() {
  std::signal(SIGTERM, request_stop);
  std::signal(SIGINT, request_stop);
  try {
    stepline::test::RabbitMq node;
    std::printf("ready %s %d\n", node.url().c_str(), node.port());
    std::fflush(stdout);
    while (!stop_requested) {
      pollfd in{STDIN_FILENO, POLLIN, 0};
      if (::poll(&in, 1, 200) > 0) {
        char buffer[256];
        if (::read(STDIN_FILENO, buffer, sizeof buffer) <= 0) break;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "stepline-test-rabbitmq: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
