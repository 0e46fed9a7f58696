// The job store in the SQLite database file of the record store (WAL), on a connection of its
// own: workers wait for the pipeline's commits at the file's WriteGate, not on the pipeline's
// lock. While a service runs, a WalCheckpointer keeps the write-ahead log short beside it.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include <stepline/host/store/job_store.hpp>

struct sqlite3;

namespace stepline::host::store {

class WriteGate;

class SqliteJobStore final : public JobStore {
 public:
  /// Opens the database (creating it and bringing its schema up to date like the record store).
  /// Throws std::runtime_error naming the file.
  explicit SqliteJobStore(const std::filesystem::path& database,
                          Durability durability = Durability::normal);
  ~SqliteJobStore() override;

  std::vector<SystemJob> take(std::string_view owner, DateTime now, DateTime lease_until,
                              std::size_t limit, bool with_endpoints) override;
  bool has_due(DateTime now, bool with_endpoints) override;
  std::vector<std::optional<JobStatus>> finish(std::span<const JobResult> results,
                                               std::string_view owner, DateTime now) override;
  std::size_t renew(std::string_view owner, DateTime lease_until) override;
  std::size_t release(std::string_view owner) override;
  std::size_t recover(DateTime now,
                      const std::function<bool(std::string_view owner)>& owner_gone) override;
  std::vector<CrashedJob> count_crashes(std::span<const Guid> ids, int limit,
                                        DateTime now) override;
  long long last_sequence() override;
  bool unfinished_after(long long sequence, bool with_endpoints = true) override;
  std::map<JobStatus, std::size_t> count(long long after_sequence = 0) override;
  std::unique_ptr<Companion> accompany(std::function<void()> jobs_queued) override;
  bool announces_jobs() const noexcept override { return false; }

  SystemJob find(std::string_view id_or_part) override;
  void list(const JobFilter& filter, const std::function<void(const SystemJob&)>& each) override;
  JobStatus cancel(const Guid& id, DateTime now) override;
  JobStatus resume(const Guid& id) override;
  JobStatus retry(const Guid& id) override;
  JobStatus postpone(const Guid& id, DateTime until) override;
  std::size_t purge(JobStatus status, DateTime before) override;

  const Location& location() const noexcept override { return location_; }
  Durability durability() const noexcept override { return durability_; }

 private:
  struct Statements;
  class WriteTransaction;
  JobStatus current_status(const Guid& id);

  std::filesystem::path file_;
  Location location_;
  Durability durability_;
  sqlite3* db_ = nullptr;
  std::shared_ptr<WriteGate> gate_;  ///< shared with the record store of the same file
  std::unique_ptr<Statements> statements_;
  std::mutex mutex_;
};

}  // namespace stepline::host::store
