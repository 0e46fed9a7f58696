// The record store in an SQLite database file (WAL), the embedded default. Operations of several
// threads take turns on one connection and share commits: each is a savepoint in a database
// transaction that stays open while the store passes from one operation to the next (a commit
// group), so that operations finishing close together cost one commit (one fsync with
// Durability::full) while each still rolls back alone. Writers of the file in this process meet
// at its WriteGate before SQLite's lock (docs/REQUESTS.md "Durability").
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>

#include <stepline/host/store/record_store.hpp>

struct sqlite3;

namespace stepline::host::store {

class WriteGate;
class ContextLog;

class SqliteRecordStore final : public RecordStore {
 public:
  /// Opens (creating when absent) the database file and brings its schema up to date. Throws
  /// std::runtime_error naming the file on failure.
  explicit SqliteRecordStore(const std::filesystem::path& file,
                             Durability durability = Durability::normal);
  ~SqliteRecordStore() override;

  /// How long a committing operation waits for others in progress to join its commit.
  static constexpr std::chrono::microseconds commit_delay{200};

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
  int schema_version() const override;

 private:
  class Operation;
  struct Statements;
  class StandaloneWrite;
  std::unique_ptr<Scope> begin() override;
  void exec(const char* sql);
  /// With the lock held: commits the open group, if any, unless a Transaction is open (then the
  /// caller is inside the group and reads or writes as part of it).
  void settle_open_group();
  /// Why a group's commit failed; empty `message` = it did not.
  using GroupFailure = CommitFailure;
  void settle_deferred(std::vector<Batch::Deferred>& deferred) override;
  /// What an operation of a group that failed is told.
  CommitFailure operation_failure(GroupFailure failure) const;
  /// Commits the open group (or rolls it back if no operation in it committed) and wakes its
  /// waiters. `member` = the caller's own operation is in the group; returns its failure.
  GroupFailure settle_group(bool member);
  /// Releases `lock` and waits until group `group` is settled, settling it itself once
  /// `patience` has passed; returns its failure, if any.
  GroupFailure wait_for_group(std::unique_lock<std::recursive_mutex>& lock, std::uint64_t group,
                              std::chrono::microseconds patience);

  std::filesystem::path file_;
  Location location_;
  Durability durability_;
  sqlite3* db_ = nullptr;
  std::shared_ptr<WriteGate> gate_;
  std::shared_ptr<ContextLog> contexts_;  ///< where new jobs' frozen contexts go
  std::unique_ptr<Statements> statements_;
  std::recursive_mutex mutex_;
  int open_transactions_ = 0;

  // Commit groups (see Transaction). Under mutex_:
  static constexpr int group_limit = 64;  ///< operations per commit at most
  bool group_open_ = false;               ///< a shared database transaction is open
  int group_size_ = 0;                    ///< operations committed into it, not yet settled
  std::uint64_t group_ = 1;               ///< the open (or next) group's number
  std::atomic<int> waiting_{0};           ///< outermost Transactions waiting for mutex_
  std::atomic<std::uint64_t> commits_{0};
  JobHandoff* handoff_ = nullptr;  ///< set under mutex_ and handoff_room_mutex_ both
  std::mutex handoff_room_mutex_;  ///< enough for handoff_room() to read handoff_
  /// Jobs taken by handoff_ and not yet committed, each with the Transaction depth that wrote it
  /// (0 = its operation committed into the open group).
  std::vector<std::pair<int, SystemJob>> claimed_;
  void drop_claimed(int depth);     ///< a Transaction at `depth` rolled back
  void promote_claimed(int depth);  ///< a Transaction at `depth` committed into its parent
  // Operations waiting for their group's commit need not take mutex_ back (the next group's
  // operations hold it): they wait on settled_word_, the low 32 bits of the last settled
  // group's number, a futex word.
  bool group_settled(std::uint64_t group) const noexcept;
  std::atomic<std::uint32_t> settled_word_{0};
  std::atomic<int> group_waiters_{0};
  std::atomic<int> failed_groups_count_{0};  ///< entries in failed_groups_
  // Under settled_mutex_ (the failed groups' waiters read it; the others never take it):
  std::mutex settled_mutex_;
  struct Failure {
    int waiters;
    GroupFailure failure;
  };
  std::map<std::uint64_t, Failure> failed_groups_;
};

}  // namespace stepline::host::store
