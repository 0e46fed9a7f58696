// The built-in data provider: records and system jobs in one SQLite database (WAL), so that an
// operation's record change and the jobs of its asynchronous steps commit together (the outbox).
//
// Durability: the database runs in WAL mode with synchronous=NORMAL by default. A committed
// operation survives a crash of the process; after a power loss or an operating-system crash the
// last few commits may be lost (never half-applied). Durability::full syncs every commit.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include <stepline/entity.hpp>
#include <stepline/registration/model.hpp>
#include <stepline/services.hpp>

struct sqlite3;

namespace stepline::host::store {

class WriteGate;

/// A Retrieve, Update or Delete named a record that does not exist.
class RecordNotFound : public std::runtime_error {
 public:
  RecordNotFound(std::string_view entity, const Guid& id);
};

/// A Create named an id that is already taken.
class DuplicateRecord : public std::runtime_error {
 public:
  DuplicateRecord(std::string_view entity, const Guid& id);
};

/// The database could not be written because its disk is full. Nothing of the write (or of the
/// transaction it was part of) was applied; the store works again as soon as space is freed.
class StorageFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The id the store gives a new record and the pipeline a new system job (and its frozen
/// context's OperationId): a time-ordered guid (version 7, RFC 9562) with the Unix time in
/// milliseconds in its first 48 bits, then 74 random bits. Its text sorts by creation time, so a
/// new row's entry in an id index lands on the index's last page instead of a random one: a
/// commit of several operations rewrites one index page, not one per operation.
Guid time_ordered_guid();

/// One row of the system_jobs table: an asynchronous step waiting to run.
struct SystemJob {
  Guid id;  ///< the frozen context's OperationId
  DateTime created_on{};
  Guid step_id;
  std::string step_name;
  std::string regarding_entity;
  Guid regarding_id;
  std::string message;
  int depth = 1;
  Guid correlation_id;
  int state_code = 0;   ///< 0 Ready
  int status_code = 0;  ///< 0 Waiting for resources
  int retry_count = 0;
  std::optional<DateTime> postpone_until;
  std::optional<int> error_code;
  std::string message_text;
  std::string friendly_message;
  std::optional<long long> execution_time_ms;
  std::optional<std::string> endpoint;  ///< service endpoint name; empty for plug-in steps
  std::string context;  ///< the serialized context (json format), Mode=1, IsInTransaction=false
  /// Jobs that must run one at a time in creation order share a key ("account:<id>" for an
  /// endpoint with `order: per-record`); empty = no ordering.
  std::string ordering_key;
  // Kept by the async service (host/include/stepline/host/store/job_store.hpp):
  long long sequence = 0;  ///< creation order, assigned when the row is written
  std::optional<DateTime> started_on;
  std::optional<DateTime> completed_on;
  std::string lease_owner;  ///< the worker process holding an In-progress job
  std::optional<DateTime> lease_until;
  std::string trace;  ///< the plug-in's trace lines of the last attempt
  /// Attempts during which the host process died (docs/JOBS.md "A plug-in that takes the host
  /// down"); the job fails once they reach host.async_crash_limit.
  int crash_count = 0;
  /// The context itself, on a job handed over in memory at its commit (JobHandoff), so the
  /// worker need not read `context` back; never stored.
  std::shared_ptr<const ExecutionContext> frozen;
};

/// Takes the jobs that operations queue straight from their commit: the async service of this
/// process, so that it need not find them in the database first (docs/JOBS.md "Hand-off").
class JobHandoff {
 public:
  virtual ~JobHandoff() = default;
  /// Called in the operation's transaction before `job` is written. True = taken: the handoff
  /// has set the job In progress under its lease, and the row is written so.
  virtual bool claim(SystemJob& job) = 0;
  /// The taken jobs of a commit, once it succeeded (called with the store's lock held).
  virtual void committed(std::vector<SystemJob> jobs) = 0;
  /// Taken jobs that were never committed: their operation rolled back or their commit failed.
  virtual void abandoned(std::size_t count) = 0;
};

/// normal: WAL + synchronous=NORMAL, survives process crashes; full: WAL + synchronous=FULL,
/// survives power loss, one fsync per commit (the registration's `host.durability`).
using Durability = registration::Durability;

class RecordStore {
 public:
  /// Opens (creating when absent) the database file and brings its schema up to date. Throws
  /// std::runtime_error naming the file on failure.
  explicit RecordStore(const std::filesystem::path& file,
                       Durability durability = Durability::normal);
  ~RecordStore();
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;

  /// A nested unit of work on this store. Holds the store's lock (re-entrant for the same thread)
  /// while open; not committed = rolled back when destroyed. Inner ones are savepoints.
  ///
  /// Outermost ones are grouped: each is a savepoint in a database transaction that operations of
  /// several threads share. commit() of the last one in line commits the group; one that finds
  /// another operation waiting for the store hands the open transaction on and waits for the
  /// group's commit. Either way commit() returns only once its changes are committed (and
  /// throws, naming the cause, if the group's commit failed), so concurrent operations share one
  /// commit (one fsync with Durability::full) while each still rolls back alone. One that finds
  /// no operation waiting but others in progress (Activity) leaves the group open for up to
  /// `commit_delay` for them to join, as a database's commit delay does; a lone caller commits at
  /// once.
  class Transaction {
   public:
    explicit Transaction(RecordStore& store);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

   private:
    RecordStore& store_;
    std::unique_lock<std::recursive_mutex> lock_;
    std::string name_;
    bool done_ = false;
    bool outermost_ = false;
  };

  /// A top-level operation in progress on this store, for as long as it lives; the pipeline holds
  /// one per operation so that commits know whether others may soon join their group.
  class Activity {
   public:
    explicit Activity(RecordStore& store) : store_(store) {
      store_.active_.fetch_add(1, std::memory_order_relaxed);
    }
    ~Activity() { store_.active_.fetch_sub(1, std::memory_order_relaxed); }
    Activity(const Activity&) = delete;
    Activity& operator=(const Activity&) = delete;

   private:
    RecordStore& store_;
  };

  /// How long a committing operation waits for others in progress to join its commit.
  static constexpr std::chrono::microseconds commit_delay{200};

  /// Stores a new record; an absent (nil) id is generated. Returns the id.
  Guid create(const Entity& entity);
  /// The record restricted to `columns`, or nullopt.
  std::optional<Entity> retrieve(std::string_view entity, const Guid& id, const ColumnSet& columns);
  /// Merges the entity's attributes into the stored record. Throws RecordNotFound.
  void update(const Entity& entity);
  /// Throws RecordNotFound.
  void remove(std::string_view entity, const Guid& id);
  /// Records matching every equality condition, in creation order, one page at a time.
  EntityCollection retrieve_multiple(const Query& query);

  void add_system_job(const SystemJob& job);
  /// Every system job, oldest first (for inspection and tests).
  std::vector<SystemJob> system_jobs();

  /// Offers every job an operation queues to `handoff` from now on; false (and nothing changes)
  /// when another one is attached: one taker per store. Commits an open group first.
  bool attach_handoff(JobHandoff& handoff);
  /// Stops offering jobs to `handoff` (if it is the one attached); jobs then wait in the database
  /// to be found. Commits an open group first, so none of its jobs is left half handed over.
  void detach_handoff(JobHandoff& handoff);

  /// Commits of operations' transactions so far (a group of operations counts once).
  std::uint64_t commits() const noexcept { return commits_.load(std::memory_order_relaxed); }
  /// Operations waiting for the store to begin their transaction.
  int waiting_operations() const noexcept { return waiting_.load(std::memory_order_relaxed); }

  Durability durability() const noexcept { return durability_; }

  /// The schema version this build writes (PRAGMA user_version).
  static int schema_version() noexcept;
  const std::filesystem::path& file() const noexcept { return file_; }

 private:
  struct Statements;
  class StandaloneWrite;
  void exec(const char* sql);
  /// With the lock held: commits the open group, if any, unless a Transaction is open (then the
  /// caller is inside the group and reads or writes as part of it).
  void settle_open_group();
  /// Why a group's commit failed; empty `message` = it did not.
  struct GroupFailure {
    std::string message;
    bool disk_full = false;
  };
  /// Commits the open group (or rolls it back if no operation in it committed) and wakes its
  /// waiters. `member` = the caller's own operation is in the group; returns its failure.
  GroupFailure settle_group(bool member);
  /// Releases `lock` and waits until group `group` is settled, settling it itself once
  /// `patience` has passed; returns its failure, if any.
  GroupFailure wait_for_group(std::unique_lock<std::recursive_mutex>& lock, std::uint64_t group,
                              std::chrono::microseconds patience);

  std::filesystem::path file_;
  Durability durability_;
  sqlite3* db_ = nullptr;
  std::shared_ptr<store::WriteGate> gate_;
  std::unique_ptr<Statements> statements_;
  std::recursive_mutex mutex_;
  int open_transactions_ = 0;

  // Commit groups (see Transaction). Under mutex_:
  static constexpr int group_limit = 64;  ///< operations per commit at most
  bool group_open_ = false;               ///< a shared database transaction is open
  int group_size_ = 0;                    ///< operations committed into it, not yet settled
  std::uint64_t group_ = 1;               ///< the open (or next) group's number
  std::atomic<int> waiting_{0};           ///< outermost Transactions waiting for mutex_
  std::atomic<int> active_{0};            ///< Activity objects alive
  std::atomic<std::uint64_t> commits_{0};
  JobHandoff* handoff_ = nullptr;
  /// Jobs taken by handoff_ and not yet committed, each with the Transaction depth that wrote it
  /// (0 = its operation committed into the open group).
  std::vector<std::pair<int, SystemJob>> claimed_;
  void drop_claimed(int depth);     ///< a Transaction at `depth` rolled back
  void promote_claimed(int depth);  ///< a Transaction at `depth` committed into its parent
  // Under settled_mutex_, so that operations waiting for their group's commit need not take
  // mutex_ back (the next group's operations hold it):
  std::mutex settled_mutex_;
  std::condition_variable group_settled_;
  std::uint64_t settled_ = 0;  ///< every group up to this one is settled
  struct Failure {
    int waiters;
    GroupFailure failure;
  };
  std::map<std::uint64_t, Failure> failed_groups_;
};

}  // namespace stepline::host::store
