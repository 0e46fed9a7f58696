// The built-in data provider as the pipeline sees it: records and system jobs in one store, so
// that an operation's record change and the jobs of its asynchronous steps commit together (the
// outbox). store::open_records() (store/store.hpp) opens the implementation: an SQLite database
// in the data folder (WAL).
//
// Durability (Durability::normal, the default): a committed operation survives a crash of the
// host process; after a power loss or an operating-system crash of the machine holding the
// database the last few commits may be lost (never half-applied). Durability::full makes every
// commit durable on disk before it returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/entity.hpp>
#include <stepline/registration/model.hpp>
#include <stepline/services.hpp>

#include <stepline/host/store/store.hpp>

namespace stepline::host::store {

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

/// A record's text that the store cannot keep: a NUL character (U+0000), which PostgreSQL's
/// jsonb refuses. The request is at fault, not the store; nothing was written.
class UnstorableText : public std::invalid_argument {
 public:
  UnstorableText(std::string_view entity, std::string_view attribute);
};

/// The database could not be written because its disk is full. Nothing of the write (or of the
/// transaction it was part of) was applied; the store works again as soon as space is freed.
class StorageFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The most one RetrieveMultiple answer may hold in memory: its records' text, about. A page of
/// records larger than this (a table of large records read without paging, or a page of
/// thousands of them) fails with PageTooLarge instead of taking the host's memory.
inline constexpr std::size_t max_page_bytes = std::size_t{64} << 20;

/// A RetrieveMultiple whose page would hold more than max_page_bytes. The query is at fault;
/// it can ask for fewer records a page.
class PageTooLarge : public std::invalid_argument {
 public:
  PageTooLarge(std::string_view entity, std::size_t records);
};

/// About how many bytes a record takes: its attributes' names and text (a value that is not
/// text counts 16).
std::size_t footprint(const Entity& record);

/// Whether a record's value meets a RetrieveMultiple condition (Query::conditions): the same
/// value, except that decimals and money compare as numbers (12.5 meets 12.50, as a caller
/// means it, although each keeps the text it was written with).
bool meets(const Value& stored, const Value& condition);

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
  /// The serialized context (json format), Mode=1, IsInTransaction=false. A job read back whose
  /// stored context cannot be read (a damaged or missing file of the context log) has instead
  /// unreadable_context_mark followed by what is wrong: the job fails with that, and the others
  /// go on.
  std::string context;
  static constexpr char unreadable_context_mark = '\x01';
  /// What is wrong with the stored context, when it could not be read; empty when it was.
  std::string_view context_problem() const noexcept {
    if (context.empty() || context.front() != unreadable_context_mark) return {};
    return std::string_view(context).substr(1);
  }
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

/// How far the service taking jobs at their commit is: how many more jobs it would take now
/// (SIZE_MAX: no limit), and how many it has finished so far, which tells a caller waiting for
/// room whether it is working.
struct HandoffRoom {
  std::size_t free = static_cast<std::size_t>(-1);
  std::uint64_t finished = 0;
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
  /// How many more jobs claim() would take now, and how many it has finished.
  virtual HandoffRoom room() const noexcept { return {}; }
};

/// normal: WAL + synchronous=NORMAL, survives process crashes; full: WAL + synchronous=FULL,
/// survives power loss, one fsync per commit (the registration's `host.durability`).
using Durability = registration::Durability;

class RecordStore {
 public:
  virtual ~RecordStore() = default;
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;

  /// A unit of work as an implementation keeps it: rolled back when destroyed uncommitted.
  class Scope {
   public:
    virtual ~Scope() = default;
    /// Returns once the changes are committed (an inner scope: released into its parent);
    /// throws, naming the cause, when they could not be (StorageFull for a full disk).
    virtual void commit() = 0;
  };

  /// A nested unit of work on this store, for the calling thread. Not committed = rolled back
  /// when destroyed; inner ones (a nested request) are savepoints of the outermost one. Record
  /// reads and writes of the thread in between are part of it.
  ///
  /// How outermost ones commit is the implementation's: SQLite lets them in one at a time and
  /// commits those that finish close together in one database transaction (a commit group).
  /// Either way commit() returns only once the operation's changes are committed, and each
  /// rolls back alone.
  class Transaction {
   public:
    explicit Transaction(RecordStore& store) : scope_(store.begin()) {}
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() { scope_->commit(); }

   private:
    std::unique_ptr<Scope> scope_;
  };

  /// Why an operation's changes were not committed (Batch::settle).
  struct CommitFailure {
    std::string message;     ///< names the store and the cause
    bool disk_full = false;  ///< the disk is full (StorageFull)
  };

  /// Deferred commits, for the calling thread while it lives: an outermost Transaction of this
  /// thread on this store then returns from commit() as soon as its changes are in the store's
  /// open commit group, without waiting for the group's commit; settle() commits the group and
  /// says of each deferred commit whether it held. A thread that runs operations one after
  /// another (Pipeline::execute_batch) so waits once per batch instead of once per operation,
  /// and nothing it returns before settle() may be taken as committed. A store that does not
  /// group commits (PostgreSQL) commits each at once and defers none.
  class Batch {
   public:
    explicit Batch(RecordStore& store);
    /// Settles what is still deferred (its failures are then only in the log).
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

    /// Commits deferred since the last settle().
    std::size_t deferred() const noexcept { return deferred_.size(); }
    /// Returns once every deferred commit is settled, committing the open group itself when it
    /// holds one: for each, in order, its failure or nullopt (committed). Call it outside any
    /// Transaction of the thread.
    std::vector<std::optional<CommitFailure>> settle();

    /// The calling thread's Batch on `store`, if one is open (for implementations).
    static Batch* of_thread(const RecordStore& store) noexcept;
    /// One deferred commit, as the implementation keeps it.
    struct Deferred {
      std::uint64_t group = 0;  ///< the implementation's commit group
      bool settled = false;
      std::optional<CommitFailure> failure;
    };
    void defer(Deferred d) { deferred_.push_back(std::move(d)); }

   private:
    RecordStore& store_;
    Batch* enclosing_;  ///< the thread's Batch opened before this one (another store's)
    std::vector<Deferred> deferred_;
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

  /// Stores a new record; an absent (nil) id is generated. Returns the id. Throws
  /// DuplicateRecord.
  virtual Guid create(const Entity& entity) = 0;
  /// The record restricted to `columns`, or nullopt.
  virtual std::optional<Entity> retrieve(std::string_view entity, const Guid& id,
                                         const ColumnSet& columns) = 0;
  /// Merges the entity's attributes into the stored record. Throws RecordNotFound.
  virtual void update(const Entity& entity) = 0;
  /// Throws RecordNotFound.
  virtual void remove(std::string_view entity, const Guid& id) = 0;
  /// Records matching every equality condition, in creation order, one page at a time.
  virtual EntityCollection retrieve_multiple(const Query& query) = 0;

  /// Writes a new system job (in the calling thread's transaction, if any: the outbox). Taken by
  /// value: a job handed over at its commit moves on with its context, uncopied.
  virtual void add_system_job(SystemJob job) = 0;
  /// Every system job, oldest first (for inspection and tests).
  virtual std::vector<SystemJob> system_jobs() = 0;

  /// Offers every job an operation queues to `handoff` from now on; false (and nothing changes)
  /// when another one is attached: one taker per store. Commits an open group first.
  virtual bool attach_handoff(JobHandoff& handoff) = 0;
  /// Stops offering jobs to `handoff` (if it is the one attached); jobs then wait in the database
  /// to be found. Commits an open group first, so none of its jobs is left half handed over.
  virtual void detach_handoff(JobHandoff& handoff) = 0;

  /// The attached JobHandoff's room (no limit without one). A caller running operations back to
  /// back may wait for room, so as not to queue jobs faster than the service works them off: the
  /// ones past its window wait in the database, and taking them back from there costs more than
  /// taking them at their commit.
  virtual HandoffRoom handoff_room() { return {}; }

  /// Commits of operations' transactions so far (a group of operations counts once).
  virtual std::uint64_t commits() const noexcept = 0;
  /// Operations waiting for the store to begin their transaction.
  virtual int waiting_operations() const noexcept = 0;
  /// Requests to a database server that waited for its answer, so far (0 for SQLite, which is
  /// no server): what the network between a host and its database costs it.
  virtual std::uint64_t round_trips() const { return 0; }

  virtual Durability durability() const noexcept = 0;
  /// Where the store is (store/store.hpp).
  virtual const Location& location() const noexcept = 0;
  /// The schema version of the opened store (this build's, once opened).
  virtual int schema_version() const = 0;

 protected:
  RecordStore() = default;
  /// Starts a Transaction's unit of work for the calling thread.
  virtual std::unique_ptr<Scope> begin() = 0;
  /// Settles every entry of `deferred` not yet settled (Batch::settle); there are none unless
  /// the implementation deferred them.
  virtual void settle_deferred(std::vector<Batch::Deferred>& deferred);
  /// Activity objects alive.
  int active_operations() const noexcept { return active_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int> active_{0};
};

}  // namespace stepline::host::store
