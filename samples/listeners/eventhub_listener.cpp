// eventhub_listener: reads every partition of an event hub from its earliest event. It asks the
// hub's management node for the partition ids (as the Azure SDKs do), then attaches one receiver
// per partition with a selector filter on the offset. Prints one line per event.
//
//   eventhub_listener [telemetry] [--connection …] [--count N] [--timeout S]
#include <iostream>
#include <map>
#include <vector>

#include <proton/codec/encoder.hpp>
#include <proton/codec/map.hpp>
#include <proton/codec/vector.hpp>
#include <proton/delivery.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/source_options.hpp>
#include <proton/uuid.hpp>

#include <stepline/azure/names.hpp>
#include <stepline/azure/sas_token.hpp>

#include "listener.hpp"

using namespace stepline;

class EventHubListener : public samples::Listener {
 public:
  using Listener::Listener;

  void open_links(proton::connection& c) override {
    // Management replies come back on a receiver whose name the request gives as reply-to.
    management_ = c.open_sender(std::string(azure::node::management));
    replies_ = c.open_receiver(std::string(azure::node::management),
                               proton::receiver_options().name(reply_to_));
  }

  void on_sendable(proton::sender& s) override {
    if (s != management_ || asked_) return;
    const auto& cs = options().connection;
    proton::message read;
    read.id(proton::uuid::random().str());
    read.reply_to(reply_to_);
    read.properties().put("operation", "READ");
    read.properties().put("name", options().entity);
    read.properties().put("type", "com.microsoft:eventhub");
    read.properties().put("security_token",
                          azure::create_sas_token(cs.audience(options().entity),
                                                  cs.shared_access_key_name, cs.shared_access_key));
    s.send(read);
    asked_ = true;
  }

  void on_message(proton::delivery& d, proton::message& m) override {
    if (d.receiver() == replies_) return open_partitions(d.receiver().connection(), m);
    try {
      std::cout << d.receiver().source().address() << ": "
                << samples::summary(samples::read_context(m)) << std::endl;
    } catch (const std::exception& e) {
      std::cerr << "event " << m.id() << " is not a context: " << e.what() << "\n";
      return;
    }
    received();
  }

 private:
  void open_partitions(proton::connection c, const proton::message& reply) {
    std::map<std::string, proton::value> hub;
    proton::get(reply.body(), hub);
    std::vector<std::string> partitions;
    proton::get(hub.at("partition_ids"), partitions);
    for (const auto& id : partitions) {
      // Start at the earliest event: every offset is greater than -1.
      proton::value filter;
      proton::codec::encoder(filter)
          << proton::codec::start::described()
          << static_cast<uint64_t>(azure::link_property::selector_filter_descriptor)
          << std::string("amqp.annotation.x-opt-offset > '-1'") << proton::codec::finish();
      proton::source::filter_map filters;
      filters.put(proton::symbol(std::string(azure::link_property::selector_filter)), filter);
      c.open_receiver(azure::consumer_address(options().entity, "$Default", id),
                      proton::receiver_options().source(proton::source_options().filters(filters)));
    }
  }

  const std::string reply_to_ = "eventhub-listener-" + proton::uuid::random().str();
  proton::sender management_;
  proton::receiver replies_;
  bool asked_ = false;
};

int main(int argc, char** argv) {
  return EventHubListener(
             samples::parse_options(
                 argc, argv, "Print the execution contexts posted to an event hub", "telemetry"))
      .run();
}
