// stepline-broker's AMQP side: one Proton container thread serving Service Bus queues, topics
// and subscriptions and Event Hubs, with $cbs and $management nodes, the way the Azure SDK
// clients expect them.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/listener.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/sender.hpp>

#include "auth.hpp"
#include "config.hpp"
#include "event_hub.hpp"
#include "queue.hpp"
#include "store.hpp"
#include "topic.hpp"

struct pn_link_t;
struct pn_connection_t;
struct pn_delivery_t;

namespace stepline::broker {

/// What an address names, resolved case-insensitively.
struct Address {
  enum class Kind {
    none,
    cbs,
    management,
    queue,
    topic,
    hub,
    hub_partition,
    hub_consumer
  } kind = Kind::none;
  Queue* queue = nullptr;  ///< queue, subscription or dead-letter queue
  Topic* topic = nullptr;
  EventHub* hub = nullptr;
  int partition = -1;
  std::string path;  ///< lower-case entity path, for authorization
};

class Broker : public proton::messaging_handler {
 public:
  /// Builds the entities and, with data_dir, loads stored messages. Throws on a bad store.
  explicit Broker(BrokerConfig config);
  ~Broker() override;

  /// Listens on `listen` (host:port) and runs the container until stop(). Throws when the
  /// address cannot be bound.
  void run(const std::string& listen);
  /// Thread-safe: closes the listener and connections, commits the store, ends run().
  void stop();

  Address resolve(const std::string& address);

 private:
  struct LinkState {
    enum class Kind {
      cbs_in,
      cbs_out,
      management_in,
      management_out,
      publisher,
      consumer,
      hub_consumer
    };
    Kind kind;
    uint64_t id = 0;
    Address address;
    bool peek_lock = true;
    int64_t next_event = 0;               ///< hub consumers: next sequence number to send
    std::deque<proton::message> replies;  ///< $cbs / $management replies waiting for credit
    proton::sender sender;                ///< outgoing links
  };
  struct ConnectionState {
    std::string host;
    std::vector<Grant> grants;
    std::map<std::string, pn_link_t*> reply_routes;  ///< link name and target address → our sender
    std::vector<pn_link_t*> links;
  };
  struct AwaitingCommit {
    proton::delivery delivery;
    pn_link_t* link;
    uint64_t link_id;
  };

  // messaging_handler
  void on_container_start(proton::container& c) override;
  void on_connection_open(proton::connection& c) override;
  void on_connection_close(proton::connection& c) override;
  void on_transport_close(proton::transport& t) override;
  void on_receiver_open(proton::receiver& r) override;
  void on_sender_open(proton::sender& s) override;
  void on_receiver_close(proton::receiver& r) override;
  void on_sender_close(proton::sender& s) override;
  void on_sendable(proton::sender& s) override;
  void on_sender_drain_start(proton::sender& s) override;
  void on_message(proton::delivery& d, proton::message& m) override;
  void on_tracker_accept(proton::tracker& t) override;
  void on_tracker_reject(proton::tracker& t) override;
  void on_tracker_release(proton::tracker& t) override;
  void on_error(const proton::error_condition& e) override;

  // links and connections
  ConnectionState& connection_state(pn_connection_t* c);
  void forget_link(pn_link_t* l);
  void forget_connection(pn_connection_t* c);
  void refuse(pn_link_t* l, const std::string& condition, const std::string& description);
  bool authorize(pn_link_t* l, const Address& a, Need need);
  std::string entity_url(pn_link_t* l, const std::string& address);

  // publishing
  void publish(proton::delivery& d, proton::message& m, LinkState& state);
  /// Stamps and stores one message for a queue or topic; returns the queues that got it.
  void enqueue_service_bus(proton::message& m, const Address& a, int64_t now,
                           std::vector<Queue*>& touched);
  void enqueue_event(proton::message& m, const Address& a, int partition, int64_t now);
  void settle_publish(proton::delivery& d, pn_link_t* l, uint64_t link_id);
  void reject(pn_delivery_t* d, const std::string& condition, const std::string& description);

  // delivering
  void pump(Queue* q);
  void pump_partition(EventHub* hub, int partition);
  void service(pn_link_t* l);
  void deliver_from_queue(pn_link_t* l, LinkState& state);
  void deliver_events(pn_link_t* l, LinkState& state);
  void send_replies(pn_link_t* l, LinkState& state);
  void settle_outcome(proton::tracker& t);

  // $cbs and $management (management.cpp)
  void handle_cbs(proton::delivery& d, proton::message& m, pn_connection_t* c);
  void handle_management(proton::delivery& d, proton::message& m, LinkState& state,
                         pn_connection_t* c);
  void reply(pn_connection_t* c, const proton::message& request, proton::message response);
  proton::message management_reply(int status, const std::string& description,
                                   const std::string& condition = {});
  /// Applies complete/abandon/defer/dead-letter to a lock token; false when the lock is lost.
  bool settle_lock(Queue* q, const LockToken& token, const std::string& disposition,
                   const std::string& reason, const std::string& description, int64_t now);

  // housekeeping
  void tick();
  void detach_expired_links();
  /// Starts a group commit on the store's writer thread (or marks one to follow the running one).
  void commit();
  /// The writer finished batch `batch`: accept (or reject) the publishers' deliveries it held.
  void committed(uint64_t batch, const std::string& error);
  void schedule_commit();
  void load_store();
  std::vector<Queue*> all_queues();

  BrokerConfig config_;
  Authority authority_;
  std::unique_ptr<Store> store_;
  std::map<std::string, std::unique_ptr<Queue>> queues_;   // by key
  std::map<std::string, std::unique_ptr<Topic>> topics_;   // by key
  std::map<std::string, std::unique_ptr<EventHub>> hubs_;  // by key
  std::unordered_map<pn_link_t*, LinkState> links_;
  std::unordered_map<pn_connection_t*, ConnectionState> connections_;
  std::unordered_map<Queue*, std::vector<pn_link_t*>> queue_consumers_;
  std::map<std::pair<EventHub*, int>, std::vector<pn_link_t*>> partition_consumers_;
  std::vector<AwaitingCommit> awaiting_commit_;
  std::map<uint64_t, std::vector<AwaitingCommit>> committing_;  // by batch
  uint64_t next_batch_ = 1;
  bool commit_running_ = false;
  bool commit_again_ = false;
  bool commit_scheduled_ = false;
  // Proton 0.37's container::schedule is not safe from other threads: the writer thread and the
  // signal thread only set these, the container thread polls them.
  std::mutex finished_mutex_;
  std::optional<std::pair<uint64_t, std::string>> finished_;  // batch, error
  std::atomic<bool> stop_requested_{false};
  void poll_commit();
  uint64_t next_link_id_ = 1;
  proton::message outgoing_;  // reused for deliveries
  proton::container* container_ = nullptr;
  proton::listener listener_;
  std::string listen_;
};

int64_t now_ms();

}  // namespace stepline::broker
