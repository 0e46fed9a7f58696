// stepline-broker's AMQP side: Service Bus queues, topics and subscriptions and Event Hubs,
// with $cbs and $management nodes, the way the Azure SDK clients expect them. The Broker is
// the composition root and the handler of Proton's connection events; its work is split by
// concern over these units:
//   server.cpp      the proactor loop: listening, admission, frame limits, timers, wake-ups
//   admission.cpp   connection limits per address and before authentication
//   entities.cpp    the configured entities and what an address names
//   links.cpp       the table of open links and connections
//   attach.cpp      link attach: authorization, refusals, credit
//   publish.cpp     incoming deliveries: publishing into queues, topics and hubs
//   group_commit.cpp accepting a publisher's delivery once its message is stored
//   dispatch.cpp    sending messages, events and replies to the links that wait for them
//   settle.cpp      a consumer's outcome for a locked message
//   management.cpp  the $cbs and $management nodes
//   sasl_plain.cpp  SASL PLAIN against the policies (the one use of a Proton-internal interface)
//   amqp_data.cpp   reading filters, outcomes and tags from Proton-C's data
//   connection_input.cpp  one connection driven from bytes, without sockets (tests, fuzzing)
//   monitoring.cpp  /healthz and /metrics over HTTP (http_listen), from snapshots of this thread
// and below them the entities (queue, topic, event_hub, filter), the store, the codec (whole
// messages through Proton) and sections.cpp (a message's sections as bytes: a queue's messages,
// and those of a topic without filters, take that path in and out, with the bare message passed
// on as the sender wrote it).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <proton/message.hpp>

#include "admission.hpp"
#include "auth.hpp"
#include "config.hpp"
#include "counters.hpp"
#include "entities.hpp"
#include "group_commit.hpp"
#include "links.hpp"
#include "server.hpp"
#include "store.hpp"

struct pn_link_t;
struct pn_connection_t;
struct pn_delivery_t;
struct pn_event_t;

namespace stepline::broker {

class Broker : public Server::Handler {
 public:
  /// Builds the entities and, with data_dir, loads stored messages. Throws on a bad store.
  explicit Broker(BrokerConfig config);
  ~Broker() override;

  /// Listens on `listen` (host:port) and serves until stop(). Throws when the address cannot be
  /// bound.
  void run(const std::string& listen);
  /// Thread-safe: closes the listener and connections, commits the store, ends run().
  void stop();

  /// What the broker refused and closed; readable from any thread.
  const Counters& counters() const { return counters_; }

  /// Thread-safe: runs `task` on the AMQP thread (where the entities may be read), soon.
  void run_on_loop(std::function<void()> task);
  /// Messages that came in to and went out of each entity (by path), since start. AMQP thread.
  struct Traffic {
    uint64_t in = 0;
    uint64_t out = 0;
  };
  const std::map<std::string, Traffic>& traffic() const { return traffic_; }
  /// The entities, for a task run_on_loop() runs.
  const Entities& entities() const { return entities_; }
  const BrokerConfig& config() const { return config_; }
  Admission& admission() { return admission_; }

  /// What drive_connection() saw.
  struct DrivenConnection {
    std::string output;             ///< every byte the broker wrote
    size_t taken = 0;               ///< input bytes the broker read before it stopped reading
    bool closed_by_broker = false;  ///< the broker closed the connection before the input ended
  };
  /// Drives one connection from bytes, without sockets (connection_input.cpp): `input` is fed
  /// in pieces of at most `chunk` bytes through the same transport set-up, admission and event
  /// handling as an accepted connection's, then the peer goes away. For tests and fuzzing of
  /// the frame input; use a broker without data_dir (a publish held for a commit would outlive
  /// the connection).
  DrivenConnection drive_connection(std::string_view input, size_t chunk = 4096);

  // Server::Handler
  void on_event(pn_event_t* event) override;
  void on_wake() override;

 private:
  // connections and sessions (broker.cpp)
  void connection_opened(pn_connection_t* c);
  void connection_closed(pn_connection_t* c);
  void authenticated(pn_connection_t* c);
  void close_overdue_connections(int64_t now);

  // link attach (attach.cpp)
  void link_opened(pn_link_t* l);
  void receiver_opened(pn_link_t* l);
  void sender_opened(pn_link_t* l);
  void link_closed(pn_link_t* l);
  void refuse(pn_link_t* l, const std::string& condition, const std::string& description);
  bool authorize(pn_link_t* l, const Address& a, Need need);
  std::string entity_url(pn_link_t* l, const std::string& address);
  void detach_expired_links();

  // incoming deliveries and publishing (publish.cpp)
  void delivery_arrived(pn_delivery_t* d);
  void message_arrived(pn_delivery_t* d, LinkState& st);
  void publish(pn_delivery_t* d, LinkState& st);
  /// Stamps and stores one message for a queue or topic; adds the queues that got it.
  void enqueue_service_bus(proton::message& m, const Address& a, int64_t now,
                           std::vector<Queue*>& touched);
  /// Stores a message for a queue, or a topic whose subscriptions all take every message, from
  /// its raw sections (sections.hpp), the bare message as it came; adds the queues that got it.
  /// False when it needs decoding (enqueue_service_bus), having changed nothing.
  bool enqueue_sections(std::string_view raw, const Address& a, int64_t now,
                        std::vector<Queue*>& touched);
  /// Stores one decoded event into `partition` (-1: chosen by its partition key).
  void enqueue_event(proton::message& m, const Address& a, int partition, int64_t now);
  /// Publishes into an event hub: one event, or a batch's members into one partition, each from
  /// its sections where it can (the bare event as it came) and decoded where it cannot.
  void publish_to_hub(std::string_view raw, const Address& a, int64_t now);
  /// Stores one event from its sections into `partition` (-1: chosen by its partition key);
  /// false when it needs decoding (enqueue_event), having changed nothing.
  bool enqueue_event_sections(std::string_view raw, const Address& a, int partition,
                              int64_t now);
  void settle_publish(pn_delivery_t* d, pn_link_t* l, const LinkState& st);
  void publish_stored(const HeldDelivery& held, bool stored);

  // delivering (dispatch.cpp)
  void pump(Queue* q);
  void pump_partition(EventHub* hub, int partition);
  void service(pn_link_t* l);
  void deliver_from_queue(pn_link_t* l, LinkState& state);
  void deliver_events(pn_link_t* l, LinkState& state);
  void send_replies(pn_link_t* l, LinkState& state);

  // a consumer's outcome (settle.cpp)
  void outcome_arrived(pn_delivery_t* d);

  // $cbs and $management (management.cpp)
  void handle_cbs(pn_delivery_t* d, const proton::message& m, pn_connection_t* c);
  void handle_management(pn_delivery_t* d, const proton::message& m, LinkState& state,
                         pn_connection_t* c);
  void reply(pn_connection_t* c, const proton::message& request, proton::message response);
  proton::message management_reply(int status, const std::string& description,
                                   const std::string& condition = {});
  /// Applies complete/abandon/defer/dead-letter to a lock token; false when the lock is lost.
  bool settle_lock(Queue* q, const LockToken& token, const std::string& disposition,
                   const std::string& reason, const std::string& description, int64_t now);

  // housekeeping (broker.cpp)
  void tick();

  BrokerConfig config_;
  Counters counters_;
  Authority authority_;
  std::unique_ptr<Store> store_;
  Entities entities_;
  Links links_;
  Admission admission_;
  Server server_;
  std::unique_ptr<GroupCommit> group_commit_;  // with data_dir
  int64_t last_second_ = 0;
  std::vector<pn_connection_t*> woken_;  // publishers' connections to wake after a commit
  std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;  // from run_on_loop, run by on_wake
  std::map<std::string, Traffic> traffic_;
  std::string incoming_;      // bytes of the delivery being read, reused
  proton::message decoded_;   // the message being handled, reused
  proton::message outgoing_;  // reused for deliveries
};

int64_t now_ms();
/// Accepts or rejects an incoming delivery and settles it.
void accept_delivery(pn_delivery_t* d);
void reject_delivery(pn_delivery_t* d, const std::string& condition,
                     const std::string& description);

}  // namespace stepline::broker
