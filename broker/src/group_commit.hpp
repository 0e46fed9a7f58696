// The group-commit pipeline. With a data_dir, a publisher's delivery is answered `accepted`
// only after the store has synced the transaction holding its message. Deliveries wait here;
// the first one schedules a commit `commit_interval` later, `commit_batch` waiting ones start
// one at once, and whatever arrives while the writer thread syncs goes into the next commit, so
// one fsync covers many messages. When a write fails (a full disk) the waiting publishers are
// refused with a transient error, new publishes are refused until a write succeeds again, and
// the store writes the failed changes again: nothing accepted is lost.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "counters.hpp"
#include "log.hpp"
#include "store.hpp"
#include "timers.hpp"

struct pn_delivery_t;
struct pn_link_t;

namespace stepline::broker {

/// A publisher's delivery waiting for the commit of its message.
struct HeldDelivery {
  pn_delivery_t* delivery;  ///< holds a reference (pn_incref) while held
  pn_link_t* link;
  uint64_t link_id;
};

class GroupCommit {
 public:
  /// Settles a held delivery once its commit finished: `stored` is false when it failed.
  using Settle = std::function<void(const HeldDelivery&, bool stored)>;
  /// Called on the writer thread when a write finished; must make the AMQP thread call
  /// finished() soon (it wakes the proactor).
  using Wake = std::function<void()>;

  GroupCommit(Store& store, const BrokerConfig& config, Timers& timers, Counters& counters,
              Settle settle, Wake wake);

  /// True while the last write failed: publishes are refused before they are enqueued.
  bool refusing() const { return failing_; }
  /// Holds a publisher's delivery until the commit that holds its message.
  void hold(HeldDelivery held);
  /// Starts a commit now, or marks one to follow the one running.
  void commit();
  /// On the AMQP thread after a Wake: settles the deliveries of the write that finished.
  void finished();
  /// Housekeeping: commits changes that no delivery waits for (completions, expiries) and, while
  /// writes fail, tries again once a second.
  void tick(int64_t now_ms);
  /// At shutdown, once the server has closed every connection: lets go of the deliveries still
  /// waiting for a commit, unsettled. Their publishers were never told `accepted` and send them
  /// again; without this each would keep its link, session and connection alive.
  void release_held();

 private:
  void schedule();
  void settle_batch(std::vector<HeldDelivery>& batch, bool stored);

  Store& store_;
  const BrokerConfig& config_;
  Timers& timers_;
  Counters& counters_;
  Settle settle_;
  Wake wake_;
  std::vector<HeldDelivery> waiting_;
  std::vector<HeldDelivery> committing_;
  bool running_ = false;
  bool again_ = false;
  bool scheduled_ = false;
  bool failing_ = false;
  int64_t last_retry_ms_ = 0;
  log::Throttle failure_log_{10'000};
  std::mutex finished_mutex_;
  std::optional<std::string> finished_;  // the writer's result, guarded by finished_mutex_
};

}  // namespace stepline::broker
