// Durable storage for messages and events (SQLite in WAL mode). Changes are journalled in
// memory and written in groups by a writer thread (commit_async), so the AMQP thread keeps
// reading while a transaction syncs; a publisher's delivery is accepted only after the commit
// that holds it.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "journal.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace stepline::broker {

class Store : public Journal {
 public:
  /// Opens (creating when needed) <data_dir>/broker.db; throws std::runtime_error naming the file.
  explicit Store(const std::string& data_dir);
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Reads every stored message and event.
  void load(const std::function<void(const std::string& entity, QueuedMessage)>& message,
            const std::function<void(const std::string& hub, int partition, StoredEvent)>& event);
  /// True when changes wait for commit(), including those of a write that failed.
  bool dirty() const;
  size_t pending() const { return pending_.size(); }
  /// Waits for a write in progress (and its `done` callback), then writes pending changes in one
  /// transaction on the calling thread; throws std::runtime_error on failure.
  void commit();
  /// Waits until no write is in progress and no `done` callback runs.
  void wait_idle();
  /// Hands the pending changes to the writer thread, which writes them in one transaction and
  /// then calls `done` (on the writer thread) with an empty string or the error. At most one
  /// write runs at a time: call again only after `done`. The changes of a write that failed (a
  /// full disk) are kept and written again, first, by the next commit.
  void commit_async(std::function<void(const std::string& error)> done);

  void message_stored(const std::string& entity, const QueuedMessage& m) override;
  void message_removed(const std::string& entity, uint64_t sequence) override;
  void message_updated(const std::string& entity, const QueuedMessage& m) override;
  void event_stored(const std::string& hub, int partition, const StoredEvent& e) override;
  void events_dropped(const std::string& hub, int partition, int64_t sequence) override;

 private:
  struct Insert {
    std::string entity;
    QueuedMessage m;
  };
  struct Remove {
    std::string entity;
    uint64_t sequence;
  };
  struct Update {
    std::string entity;
    uint64_t sequence;
    uint32_t delivery_count;
    bool deferred;
  };
  struct InsertEvent {
    std::string hub;
    int partition;
    StoredEvent e;
  };
  struct DropEvents {
    std::string hub;
    int partition;
    int64_t below;
  };
  using Op = std::variant<Insert, Remove, Update, InsertEvent, DropEvents>;

  void write(std::vector<Op>& ops);
  void take_failed(std::vector<Op>& ops);  // with mutex_ held
  void writer_loop();
  void wait_idle(std::unique_lock<std::mutex>& lock);
  void exec(const char* sql);
  sqlite3_stmt* prepare(const char* sql);
  [[noreturn]] void fail(const std::string& what);

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* remove_ = nullptr;
  sqlite3_stmt* update_ = nullptr;
  sqlite3_stmt* insert_event_ = nullptr;
  sqlite3_stmt* drop_events_ = nullptr;
  std::vector<Op> pending_;  // AMQP thread only

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Op> handed_;  // guarded by mutex_
  std::vector<Op> failed_;  // guarded by mutex_: the ops of a write that failed
  std::function<void(const std::string&)> done_;
  bool busy_ = false;
  bool calling_done_ = false;  // the writer runs a write's `done` callback
  bool quit_ = false;
  std::thread writer_;
};

}  // namespace stepline::broker
