// The record store in a PostgreSQL database that several hosts share. Each outermost operation
// takes a connection of its own from a pool and runs in its own database transaction (so
// operations of many threads and many hosts run side by side, and rows they both write are
// locked, not the whole store); an inner one is a savepoint. Statements whose answer the
// pipeline does not wait for (BEGIN, a job's row, its context, COMMIT) are queued and go out with
// the next one it does wait for, so an Update that queues a job costs two round trips: its
// UPDATE, and the commit with everything else.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

#include <stepline/host/store/record_store.hpp>

#include "pool.hpp"

namespace stepline::host::store::pg {

class PostgresRecordStore final : public RecordStore {
 public:
  /// Connects once (to check the URL and bring the schema up to date). Throws
  /// std::runtime_error naming the store and the setting.
  PostgresRecordStore(const Location& where, Durability durability);
  ~PostgresRecordStore() override;

  Guid create(const Entity& entity) override;
  std::optional<Entity> retrieve(std::string_view entity, const Guid& id,
                                 const ColumnSet& columns) override;
  void update(const Entity& entity) override;
  void remove(std::string_view entity, const Guid& id) override;
  EntityCollection retrieve_multiple(const Query& query) override;
  void add_system_job(SystemJob job) override;
  std::vector<SystemJob> system_jobs() override;
  bool attach_handoff(JobHandoff& handoff) override;
  HandoffRoom handoff_room() override;
  void detach_handoff(JobHandoff& handoff) override;
  std::uint64_t commits() const noexcept override {
    return commits_.load(std::memory_order_relaxed);
  }
  int waiting_operations() const noexcept override {
    return waiting_.load(std::memory_order_relaxed);
  }
  Durability durability() const noexcept override { return durability_; }
  const Location& location() const noexcept override { return location_; }
  int schema_version() const override { return schema_version_; }
  std::uint64_t round_trips() const override { return pool_.round_trips(); }

 private:
  struct Session;
  class Operation;
  std::unique_ptr<Scope> begin() override;
  /// The calling thread's open transaction on this store, or null.
  Session* session() const;
  /// Runs `statement` in the thread's transaction, or alone in a transaction of its own, and
  /// returns its rows.
  Result run(const Statement& statement, const Params& params);
  /// Hands back jobs claimed by operations whose commit had an unknown outcome (the connection
  /// broke during it): In progress under the taker's lease, they would otherwise be renewed by
  /// it for ever without being run.
  void settle_doubtful(Connection& connection);
  /// A session's claims are done with (committed, rolled back or doubtful).
  void claims_settled();

  Location location_;
  Durability durability_;
  int schema_version_ = 0;
  Pool pool_;
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<int> waiting_{0};

  std::mutex handoff_mutex_;
  std::condition_variable claims_done_;
  JobHandoff* handoff_ = nullptr;    ///< under handoff_mutex_
  int claiming_ = 0;                 ///< sessions holding claims of handoff_, under handoff_mutex_
  std::vector<SystemJob> doubtful_;  ///< under handoff_mutex_
};

}  // namespace stepline::host::store::pg
