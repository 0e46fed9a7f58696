// The setup the host's fault tests share: a registration whose only step runs Test.Faulty in the
// host process as an async step on account Create (a record named "crash" takes the host down,
// one named "hang" never returns, any other appends its job's id to a deliveries file),
// `stepline run` and `stepline serve` processes over it, and the job store to look at.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <stepline/host/store/job_store.hpp>

#include "testkit/process.hpp"

namespace stepline::test {

/// Accounts named "A0" … "A<n-1>".
std::vector<std::string> account_names(int n);

class FaultRig {
 public:
  /// `data`: the data folder (empty = one beside the registration); `host_extra` and
  /// `step_extra`: YAML lines added under host: and under the step (indented); each job that
  /// delivers takes `job_time` first.
  explicit FaultRig(std::filesystem::path data = {}, const std::string& host_extra = {},
                    const std::string& step_extra = {},
                    std::chrono::milliseconds job_time = std::chrono::milliseconds(0));
  /// Kills the processes it started that a test left running (one that failed half-way).
  ~FaultRig();
  FaultRig(const FaultRig&) = delete;
  FaultRig& operator=(const FaultRig&) = delete;

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path config() const { return dir() / "stepline.yaml"; }
  std::filesystem::path log(const std::string& name) const { return dir() / (name + ".log"); }
  const std::filesystem::path& data() const { return data_; }

  /// Writes one Create request per name to `file` (in dir()) and returns its path.
  std::filesystem::path requests(const std::vector<std::string>& names,
                                 const std::string& file = "requests.jsonl") const;
  /// `stepline run` of the requests, with `args` (e.g. --drain), to completion: its exit status.
  int run(const std::vector<std::string>& names, const std::vector<std::string>& args = {},
          const std::string& log_name = "run") const;
  /// The same started in the background; its output goes to log(log_name).
  pid_t start_run(const std::vector<std::string>& names, const std::vector<std::string>& args,
                  const std::string& log_name) const;
  /// `stepline serve` with `args`; its output goes to log(log_name) (appended).
  pid_t serve(const std::vector<std::string>& args = {},
              const std::string& log_name = "serve") const;

  /// The job store of the data folder (opened at the first call).
  host::store::JobStore& jobs();
  std::size_t count(host::store::JobStatus status);
  /// Every job, without its context.
  std::vector<host::store::SystemJob> all_jobs();
  /// How many times each job id was delivered.
  std::map<std::string, int> deliveries() const;
  /// The job counts and the tail of `log_name`'s log, for failure messages.
  std::string report(const std::string& log_name = "serve");

 private:
  TempDir dir_;
  std::filesystem::path data_;
  mutable std::vector<pid_t> children_;
  std::unique_ptr<host::store::JobStore> jobs_;
};

/// Polls `done` every 20 ms until it holds (true) or `limit` passes (false).
bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit);
/// Waits up to `limit` for the child `pid` to end: its wait status, or nullopt while it runs.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds limit);
/// How many lines of `file` contain `text`.
std::size_t lines_with(const std::filesystem::path& file, const std::string& text);

}  // namespace stepline::test
