// queue_listener: reads execution contexts from a Service Bus queue with peek-lock, prints one
// line per context and completes each message after printing it.
//
//   queue_listener [orders] [--connection "Endpoint=sb://…"] [--count N] [--timeout S]
#include <iostream>

#include <proton/delivery.hpp>
#include <proton/receiver_options.hpp>

#include "listener.hpp"

class QueueListener : public samples::Listener {
 public:
  using Listener::Listener;

  void open_links(proton::connection& c) override {
    // Peek-lock: the broker keeps each message locked until we settle it.
    c.open_receiver(options().entity, peek_lock());
  }

  void on_message(proton::delivery& d, proton::message& m) override {
    if (enough()) {
      d.release();
      return;
    }
    try {
      std::cout << options().entity << ": " << samples::summary(samples::read_context(m))
                << samples::claim_check_note(m) << std::endl;
      d.accept();  // complete: the message leaves the queue
      samples::completed(m);
    } catch (const std::exception& e) {
      std::cerr << options().entity << ": message " << m.id() << " is not a context: " << e.what()
                << "\n";
      d.release();  // abandon: another listener may understand it
      return;
    }
    received();
  }
};

int main(int argc, char** argv) {
  return QueueListener(samples::parse_options(
                           argc, argv, "Print the execution contexts posted to a queue", "orders"))
      .run();
}
