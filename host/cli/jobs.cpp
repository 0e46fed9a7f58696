// `stepline jobs -c FILE <command>`: the operator's view of the system jobs in the registration's
// database — list, show, cancel, resume, retry, postpone, purge (docs/JOBS.md). Exit status:
// 0 done, 1 refused (the job's status does not allow it), 2 bad input or configuration, 3 no
// such job. Results go to stdout, errors to stderr, one line each.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include <stepline/duration.hpp>
#include <stepline/host/jobs/job_json.hpp>
#include <stepline/host/store/job_store.hpp>
#include <stepline/host/store/store.hpp>
#include <stepline/registration/load.hpp>
#include <stepline/text.hpp>

#include "command.hpp"
#include "registered_store.hpp"
#include "terminal.hpp"

namespace stepline::cli {
namespace {

using host::store::JobStatus;
using host::store::JobStore;
using host::store::SystemJob;

namespace exit_code {
constexpr int ok = 0;
constexpr int refused = 1;
constexpr int bad_input = 2;
constexpr int no_such_job = 3;
}  // namespace exit_code

struct JobsOptions {
  std::string config;
  std::string id;
  std::string status;
  std::string step;
  std::string entity;
  std::size_t limit = 100;
  bool json = false;
  bool context = false;
  std::string until;
  std::string older_than;
  bool succeeded = false, failed = false, canceled = false;
};

/// Input the command cannot use; reported on stderr with exit status 2.
struct BadInput : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The job store of the registration, with its durability.
std::unique_ptr<JobStore> open_job_store(const std::string& config) {
  RegisteredStore store;
  try {
    store = registered_store(config);
  } catch (const UnusableStore& e) {
    throw BadInput(e.what());
  }
  if (store.where.kind == host::store::Location::Kind::sqlite &&
      !std::filesystem::exists(store.where.file))
    throw BadInput("no job database at " + store.where.file.string() + " (the data folder of " +
                   config + "): nothing has run with this registration");
  return host::store::open_jobs(store.where, store.durability);
}

/// "30s", "10m", "1h30m", "500ms" or "7d".
std::chrono::milliseconds duration_of(const std::string& text, const char* option) {
  if (auto d = stepline::parse_duration(text)) return *d;
  throw BadInput(std::string(option) + ": '" + text +
                 "' is not a duration; write it like 30s, 10m, 2h, 1h30m or 7d");
}

/// An ISO-8601 time, or a duration from now.
DateTime time_of(const std::string& text) {
  if (auto t = parse_iso8601(text)) return *t;
  if (auto d = stepline::parse_duration(text)) return now_utc() + *d;
  throw BadInput("--until: '" + text +
                 "' is neither an ISO-8601 time (2026-05-01T08:00:00Z) nor a duration from now "
                 "(10m, 2h)");
}

std::string when(const std::optional<DateTime>& t) {
  return t ? to_iso8601(*t) : "-";
}

std::string status_text(const SystemJob& j) {
  auto s = host::store::status_of(j);
  return s ? std::string(to_string(*s)) : fmt::format("{}/{}", j.state_code, j.status_code);
}

int list(const JobsOptions& o) {
  host::store::JobFilter filter;
  if (!o.status.empty()) {
    filter.status = host::store::parse_status(o.status);
    if (!filter.status)
      throw BadInput("--status: '" + o.status +
                     "' is not a job status; use ready, waiting, in-progress, pausing, canceling, "
                     "succeeded, failed or canceled");
  }
  filter.step = o.step;
  filter.entity = o.entity;
  filter.limit = o.limit;
  auto store = open_job_store(o.config);
  std::size_t shown = 0;
  if (o.json) {
    std::cout << '[';
    store->list(filter, [&](const SystemJob& j) {
      std::cout << (shown++ ? ",\n" : "\n") << host::jobs::job_json(j);
    });
    std::cout << (shown ? "\n]\n" : "]\n");
    return exit_code::ok;
  }
  // Rows are printed as they are read, so the columns have fixed widths; longer text is cut
  // with "..." (`show ID` and `--json` give it whole).
  auto fit = [](std::string_view raw, std::size_t width) {
    const std::string text = for_terminal(raw);
    return text.size() > width ? text.substr(0, width - 3) + "..." : text;
  };
  std::cout << fmt::format("{:<36}  {:<11}  {:<28}  {:<16}  {:>7}  {:<24}  {}\n", "ID", "STATUS",
                           "STEP", "ENTITY", "RETRIES", "NEXT/COMPLETED", "ERROR");
  store->list(filter, [&](const SystemJob& j) {
    ++shown;
    auto at = j.completed_on ? j.completed_on : j.postpone_until;
    std::cout << fmt::format("{:<36}  {:<11}  {:<28}  {:<16}  {:>7}  {:<24}  {}\n", j.id.str(),
                             status_text(j), fit(j.step_name, 28), fit(j.regarding_entity, 16),
                             j.retry_count, when(at), fit(j.friendly_message, 80));
  });
  if (o.limit && shown == o.limit)
    std::cerr << "(the first " << shown << "; --limit 0 shows every one)\n";
  return exit_code::ok;
}

int show(const JobsOptions& o) {
  auto store = open_job_store(o.config);
  auto j = store->find(o.id);
  if (o.json) {
    std::cout << host::jobs::job_json(j, &j.context) << '\n';
    return exit_code::ok;
  }
  auto line = [](std::string_view name, std::string_view value) {
    std::cout << fmt::format("{:<18} {}\n", name, value.empty() ? "-" : for_terminal(value));
  };
  line("id", j.id.str());
  line("status",
       fmt::format("{} (state {}, status {})", status_text(j), j.state_code, j.status_code));
  line("step", fmt::format("{} ({})", j.step_name, j.step_id.str()));
  line("endpoint", j.endpoint.value_or(""));
  line("message", j.message);
  line("record", j.regarding_entity + " " + j.regarding_id.str());
  line("correlation id", j.correlation_id.str());
  line("depth", std::to_string(j.depth));
  line("sequence", std::to_string(j.sequence));
  line("ordering key", j.ordering_key);
  line("created on", to_iso8601(j.created_on));
  line("started on", when(j.started_on));
  line("completed on", when(j.completed_on));
  line("postpone until", when(j.postpone_until));
  line("retry count", std::to_string(j.retry_count));
  line("host deaths", std::to_string(j.crash_count));  // attempts that took the host down
  line("execution time", j.execution_time_ms ? std::to_string(*j.execution_time_ms) + " ms" : "");
  line("lease", j.lease_owner.empty() ? "" : j.lease_owner + " until " + when(j.lease_until));
  line("error code", j.error_code ? fmt::format("{} (0x{:08X})", *j.error_code,
                                                static_cast<std::uint32_t>(*j.error_code))
                                  : "");
  line("error", j.message_text);
  line("friendly message", j.friendly_message);
  const auto problem = j.context_problem();
  if (!problem.empty())
    line("context", problem);  // what is wrong with the stored one
  else
    line("context size", std::to_string(j.context.size()) + " bytes");
  if (!j.trace.empty()) {
    std::cout << "trace:\n";
    std::size_t start = 0;
    while (start <= j.trace.size()) {
      auto end = j.trace.find('\n', start);
      std::cout << "  " << for_terminal(std::string_view(j.trace).substr(start, end - start))
                << '\n';
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  if (o.context && problem.empty()) std::cout << "context:\n" << j.context << '\n';
  return exit_code::ok;
}

template <class Change>
int change(const JobsOptions& o, Change apply) {
  auto store = open_job_store(o.config);
  auto job = store->find(o.id);
  JobStatus now = apply(*store, job.id);
  std::cout << fmt::format("system job {} is now {}\n", job.id.str(), to_string(now));
  return exit_code::ok;
}

int purge(const JobsOptions& o) {
  if (!o.succeeded && !o.failed && !o.canceled)
    throw BadInput("purge: say what to remove: --succeeded, --failed and/or --canceled");
  auto age = duration_of(o.older_than, "--older-than");
  auto store = open_job_store(o.config);
  auto before = now_utc() - age;
  std::size_t removed = 0;
  if (o.succeeded) removed += store->purge(JobStatus::succeeded, before);
  if (o.failed) removed += store->purge(JobStatus::failed, before);
  if (o.canceled) removed += store->purge(JobStatus::canceled, before);
  std::cout << "purged " << removed << " job(s) completed before " << to_iso8601(before) << '\n';
  return exit_code::ok;
}

/// Runs one command and turns its errors into the documented exit statuses.
template <class F>
void guarded(F run) {
  try {
    exit_status() = run();
  } catch (const host::store::JobRefused& e) {
    std::cerr << "refused: " << e.what() << '\n';
    exit_status() = exit_code::refused;
  } catch (const host::store::JobNotFound& e) {
    std::cerr << e.what() << '\n';
    exit_status() = exit_code::no_such_job;
  } catch (const std::exception& e) {
    std::cerr << "stepline jobs: " << e.what() << '\n';
    exit_status() = exit_code::bad_input;
  }
}

}  // namespace

STEPLINE_COMMAND([](CLI::App& app) {
  auto o = std::make_shared<JobsOptions>();
  auto* jobs = app.add_subcommand("jobs", "Inspect and manage system jobs (docs/JOBS.md)");
  jobs->add_option("-c,--config", o->config, "the registration YAML file")->required();
  jobs->require_subcommand(1);
  jobs->fallthrough();

  auto* list_command = jobs->add_subcommand("list", "List jobs in creation order");
  list_command->add_option("--status", o->status,
                           "ready|waiting|in-progress|canceling|succeeded|failed|canceled");
  list_command->add_option("--step", o->step, "only jobs of this step (its name)");
  list_command->add_option("--entity", o->entity, "only jobs about this table");
  list_command->add_option("--limit", o->limit, "at most this many (default 100, 0 = all)");
  list_command->add_flag("--json", o->json, "a JSON array, one object per job");
  list_command->callback([o] { guarded([&] { return list(*o); }); });

  // Every command taking an ID looks it up with JobStore::find.
  static constexpr const char* id_help = "the job id, or its start or end if that names one job";
  auto* show_command = jobs->add_subcommand("show", "Every field of one job");
  show_command->add_option("id", o->id, id_help)->required();
  show_command->add_flag("--json", o->json, "one JSON object, context included");
  show_command->add_flag("--context", o->context, "print the frozen context too");
  show_command->callback([o] { guarded([&] { return show(*o); }); });

  auto* cancel = jobs->add_subcommand("cancel", "Cancel a ready, waiting or running job");
  cancel->add_option("id", o->id, id_help)->required();
  cancel->callback([o] {
    guarded([&] {
      return change(*o, [](JobStore& s, const Guid& id) { return s.cancel(id, now_utc()); });
    });
  });

  auto* resume = jobs->add_subcommand("resume", "Run a waiting job now");
  resume->add_option("id", o->id, id_help)->required();
  resume->callback([o] {
    guarded([&] { return change(*o, [](JobStore& s, const Guid& id) { return s.resume(id); }); });
  });

  auto* retry = jobs->add_subcommand("retry", "Put a failed or canceled job back to Ready");
  retry->add_option("id", o->id, id_help)->required();
  retry->callback([o] {
    guarded([&] { return change(*o, [](JobStore& s, const Guid& id) { return s.retry(id); }); });
  });

  auto* postpone = jobs->add_subcommand("postpone", "Hold a ready or waiting job until a time");
  postpone->add_option("id", o->id, id_help)->required();
  postpone->add_option("--until", o->until, "an ISO-8601 time, or a duration from now (2h)")
      ->required();
  postpone->callback([o] {
    guarded([&] {
      auto until = time_of(o->until);
      return change(*o, [until](JobStore& s, const Guid& id) { return s.postpone(id, until); });
    });
  });

  auto* purge_command = jobs->add_subcommand("purge", "Delete completed jobs");
  purge_command->add_flag("--succeeded", o->succeeded, "succeeded jobs");
  purge_command->add_flag("--failed", o->failed, "failed jobs");
  purge_command->add_flag("--canceled", o->canceled, "canceled jobs");
  purge_command->add_option("--older-than", o->older_than, "completed longer ago than this (7d)")
      ->required();
  purge_command->callback([o] { guarded([&] { return purge(*o); }); });
});

}  // namespace stepline::cli
