// topic_listener: reads one subscription of a Service Bus topic. The subscription's rule (in
// broker.yaml or the Azure portal) filters on the claim properties every context carries, e.g.
//   "http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName" = 'account'
// so this listener sees account events only. Prints the claims and the context, then completes.
//
//   topic_listener [account-events/Subscriptions/accounts] [--connection …] [--count N]
#include <iostream>

#include <proton/delivery.hpp>
#include <proton/receiver_options.hpp>
#include <proton/scalar.hpp>

#include "listener.hpp"

class TopicListener : public samples::Listener {
 public:
  using Listener::Listener;

  void open_links(proton::connection& c) override {
    c.open_receiver(options().entity, peek_lock());
  }

  void on_message(proton::delivery& d, proton::message& m) override {
    if (enough()) {
      d.release();
      return;
    }
    const std::string claims = "http://schemas.microsoft.com/xrm/2011/Claims/";
    auto claim = [&](const std::string& name) {
      auto& props = m.properties();
      return props.exists(claims + name) ? proton::to_string(props.get(claims + name)) : "-";
    };
    try {
      auto context = samples::read_context(m);
      std::cout << options().entity << ": [" << claim("RequestName") << " "
                << claim("EntityLogicalName") << " org " << claim("Organization") << "] "
                << samples::summary(context) << samples::claim_check_note(m) << std::endl;
      d.accept();
      samples::completed(m);
    } catch (const std::exception& e) {
      std::cerr << options().entity << ": message " << m.id() << " is not a context: " << e.what()
                << "\n";
      d.release();
      return;
    }
    received();
  }
};

int main(int argc, char** argv) {
  return TopicListener(samples::parse_options(argc, argv,
                                              "Print the execution contexts of a subscription",
                                              "account-events/Subscriptions/accounts"))
      .run();
}
