// The job store in a PostgreSQL database that several hosts share. Workers of every host take
// due jobs with FOR UPDATE SKIP LOCKED under their lease (a job locked by another host's take is
// passed over, not waited for), a batch's results go out as one pipeline in one transaction,
// and hosts announce jobs that became due with NOTIFY: a running service listens (accompany())
// and wakes its idle workers at once instead of polling for them.
#pragma once

#include <stepline/host/store/job_store.hpp>

#include "pool.hpp"

namespace stepline::host::store::pg {

class PostgresJobStore final : public store::JobStore {
 public:
  /// Connects once (to check the URL and bring the schema up to date). Throws
  /// std::runtime_error naming the store and the setting.
  PostgresJobStore(const Location& where, Durability durability);
  ~PostgresJobStore() override;

  std::vector<SystemJob> take(std::string_view owner, DateTime now, DateTime lease_until,
                              std::size_t limit, bool with_endpoints) override;
  bool has_due(DateTime now, bool with_endpoints) override;
  std::vector<std::optional<store::JobStatus>> finish(std::span<const store::JobResult> results,
                                                      std::string_view owner,
                                                      DateTime now) override;
  std::size_t renew(std::string_view owner, DateTime lease_until) override;
  std::size_t release(std::string_view owner) override;
  std::size_t recover(DateTime now,
                      const std::function<bool(std::string_view owner)>& owner_gone) override;
  std::vector<store::CrashedJob> count_crashes(std::span<const Guid> ids, int limit,
                                               DateTime now) override;
  long long last_sequence() override;
  bool unfinished_after(long long sequence, bool with_endpoints = true) override;
  std::map<store::JobStatus, std::size_t> count(long long after_sequence = 0) override;
  std::unique_ptr<Companion> accompany(std::function<void()> jobs_queued) override;
  bool announces_jobs() const noexcept override { return true; }

  SystemJob find(std::string_view id_or_part) override;
  void list(const store::JobFilter& filter,
            const std::function<void(const SystemJob&)>& each) override;
  store::JobStatus cancel(const Guid& id, DateTime now) override;
  store::JobStatus resume(const Guid& id) override;
  store::JobStatus retry(const Guid& id) override;
  store::JobStatus postpone(const Guid& id, DateTime until) override;
  std::size_t purge(store::JobStatus status, DateTime before) override;

  const Location& location() const noexcept override { return location_; }
  Durability durability() const noexcept override { return durability_; }
  std::uint64_t round_trips() const override { return pool_.round_trips(); }

 private:
  /// Runs the queued statements of an operator's change in a transaction after reading the
  /// job's status under its row lock; `apply` queues the change for the status found, or
  /// refuses it.
  store::JobStatus change(
      const Guid& id, const std::function<store::JobStatus(Connection&, store::JobStatus)>& apply);
  /// Runs one statement in a transaction of its own; returns its rows.
  Result run(const Statement& statement, const Params& params);

  Location location_;
  Durability durability_;
  Pool pool_;
};

}  // namespace stepline::host::store::pg
