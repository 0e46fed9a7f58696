// The built-in data provider: records and system jobs in one SQLite database (WAL), so that an
// operation's record change and the jobs of its asynchronous steps commit together (the outbox).
//
// Durability: the database runs in WAL mode with synchronous=NORMAL by default. A committed
// operation survives a crash of the process; after a power loss or an operating-system crash the
// last few commits may be lost (never half-applied). Durability::full syncs every commit.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include <stepline/entity.hpp>
#include <stepline/services.hpp>

struct sqlite3;

namespace stepline::host {

namespace store {
class WriteGate;
}

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
  // Kept by the async service (host/include/stepline/host/jobs/job_store.hpp):
  long long sequence = 0;  ///< creation order, assigned when the row is written
  std::optional<DateTime> started_on;
  std::optional<DateTime> completed_on;
  std::string lease_owner;  ///< the worker process holding an In-progress job
  std::optional<DateTime> lease_until;
  std::string trace;  ///< the plug-in's trace lines of the last attempt
};

enum class Durability {
  normal,  ///< WAL + synchronous=NORMAL: survives process crashes
  full,    ///< WAL + synchronous=FULL: survives power loss, one fsync per commit
};

class RecordStore {
 public:
  /// Opens (creating when absent) the database file and brings its schema up to date. Throws
  /// std::runtime_error naming the file on failure.
  explicit RecordStore(const std::filesystem::path& file,
                       Durability durability = Durability::normal);
  ~RecordStore();
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;

  /// A nested unit of work on this store: the outermost one is the database transaction, inner
  /// ones are savepoints. Holds the store's lock (re-entrant for the same thread) while open. Not
  /// committed = rolled back when destroyed.
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
    bool gated_ = false;  ///< the outermost one holds the file's write gate
    void leave_gate() noexcept;
  };

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

  /// The schema version this build writes (PRAGMA user_version).
  static int schema_version() noexcept;
  const std::filesystem::path& file() const noexcept { return file_; }

 private:
  struct Statements;
  class StandaloneWrite;
  void exec(const char* sql);

  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
  std::shared_ptr<store::WriteGate> gate_;
  std::unique_ptr<Statements> statements_;
  std::recursive_mutex mutex_;
  int open_transactions_ = 0;
};

}  // namespace stepline::host
