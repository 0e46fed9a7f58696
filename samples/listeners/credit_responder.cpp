// credit_responder: the listener behind a two-way endpoint. It reads each posted context from
// the request queue, decides on the order's total amount, and sends the decision ("approved" or
// "declined: <reason>") to the request's reply-to address with correlation-id = its message-id,
// which is how the posting plug-in matches the reply to its call.
//
//   credit_responder [credit-check] [--limit 10000] [--connection …] [--count N] [--timeout S]
#include <iostream>
#include <map>
#include <vector>

#include <proton/connection.hpp>
#include <proton/delivery.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/tracker.hpp>

#include "credit_decision.hpp"
#include "listener.hpp"

class CreditResponder : public samples::Listener {
 public:
  CreditResponder(samples::ListenerOptions options, double limit)
      : Listener(std::move(options)), limit_(limit) {}

  void open_links(proton::connection& c) override {
    c.open_receiver(options().entity, proton::receiver_options().auto_accept(false));
  }

  void on_message(proton::delivery& d, proton::message& request) override {
    std::string decision;
    try {
      auto context = samples::read_context(request);
      const stepline::Entity* order = context.target();
      auto amount = order ? order->get_as<stepline::Money>("totalamount") : std::nullopt;
      decision = samples::decide_credit(amount ? amount->value.to_double() : 0.0, limit_);
      std::cout << options().entity << ": " << samples::summary(context) << " -> " << decision
                << std::endl;
    } catch (const std::exception& e) {
      decision = std::string("declined: the request could not be read (") + e.what() + ")";
      std::cerr << options().entity << ": " << decision << "\n";
    }
    proton::message reply(decision);
    reply.correlation_id(request.id());
    // One sender per reply address (Service Bus has no anonymous relay); Proton keeps the reply
    // until the new link has credit.
    auto sender = replies_.find(request.reply_to());
    if (sender == replies_.end())
      sender = replies_.emplace(request.reply_to(), d.connection().open_sender(request.reply_to()))
                   .first;
    sender->second.send(reply);
    d.accept();
  }

  // A request counts as answered once the service has taken the reply.
  void on_tracker_accept(proton::tracker&) override { received(); }

 private:
  double limit_;
  std::map<std::string, proton::sender> replies_;
};

int main(int argc, char** argv) {
  // --limit is ours; the rest are the common listener options.
  double limit = 10000;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--limit" && i + 1 < argc)
      limit = std::stod(argv[++i]);
    else
      args.push_back(argv[i]);
  }
  return CreditResponder(samples::parse_options(static_cast<int>(args.size()), args.data(),
                                                "Answer credit checks posted to a two-way endpoint",
                                                "credit-check"),
                         limit)
      .run();
}
