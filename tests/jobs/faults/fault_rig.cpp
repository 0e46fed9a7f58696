#include "fault_rig.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <stepline/host/store/sqlite_job_store.hpp>

namespace stepline::test {

namespace fs = std::filesystem;
using host::store::JobStatus;

std::vector<std::string> account_names(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("A" + std::to_string(i));
  return names;
}

FaultRig::FaultRig(fs::path data, const std::string& host_extra, const std::string& step_extra,
                   std::chrono::milliseconds job_time)
    : dir_("stepline-faults-"), data_(data.empty() ? dir_.path() / "data" : std::move(data)) {
  std::string configuration = (dir() / "deliveries.txt").string();
  if (job_time.count() > 0) configuration += ";" + std::to_string(job_time.count());
  std::ofstream(config()) << "host:\n"
                          << "  plugin_folder: " << FAULT_PLUGIN_DIR << "\n"
                          << "  data_folder: " << data_.string() << "\n"
                          << "  log_level: info\n"
                          << host_extra << "plugins:\n  - file: fault_plugins.so\n"
                          << "steps:\n"
                          << "  - name: Deliver\n    message: Create\n    entity: account\n"
                          << "    stage: post-operation\n    mode: async\n"
                          << "    configuration: '" << configuration << "'\n"
                          << "    handler:\n      plugin: Test.Faulty\n"
                          << step_extra;
}

FaultRig::~FaultRig() {
  for (pid_t pid : children_) {
    // Only a child not yet reaped is still ours: waitpid refuses any other pid.
    if (::waitpid(pid, nullptr, WNOHANG) != 0) continue;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
}

fs::path FaultRig::requests(const std::vector<std::string>& names, const std::string& file) const {
  auto path = dir() / file;
  std::ofstream out(path);
  for (const auto& name : names)
    out << R"({"message":"Create","target":{"logicalName":"account","attributes":{"name":")" << name
        << "\"}}}\n";
  return path;
}

int FaultRig::run(const std::vector<std::string>& names, const std::vector<std::string>& args,
                  const std::string& log_name) const {
  pid_t pid = start_run(names, args, log_name);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

pid_t FaultRig::start_run(const std::vector<std::string>& names,
                          const std::vector<std::string>& args, const std::string& log_name) const {
  std::vector<std::string> argv{
      stepline_executable(), "run",        "-c",
      config().string(),     "--requests", requests(names, log_name + ".jsonl").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  children_.push_back(spawn(argv, {}, log(log_name)));
  return children_.back();
}

pid_t FaultRig::serve(const std::vector<std::string>& args, const std::string& log_name) const {
  std::vector<std::string> argv{stepline_executable(), "serve", "-c", config().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  children_.push_back(spawn(argv, {}, log(log_name)));
  return children_.back();
}

host::store::JobStore& FaultRig::jobs() {
  if (!jobs_) jobs_ = std::make_unique<host::store::SqliteJobStore>(data_ / "stepline.db");
  return *jobs_;
}

std::size_t FaultRig::count(JobStatus status) {
  return jobs().count()[status];
}

std::vector<host::store::SystemJob> FaultRig::all_jobs() {
  std::vector<host::store::SystemJob> out;
  host::store::JobFilter every;
  every.limit = 0;
  jobs().list(every, [&](const host::store::SystemJob& j) { out.push_back(j); });
  return out;
}

std::map<std::string, int> FaultRig::deliveries() const {
  std::map<std::string, int> seen;
  std::ifstream in(dir() / "deliveries.txt");
  for (std::string line; std::getline(in, line);) ++seen[line];
  return seen;
}

std::string FaultRig::report(const std::string& log_name) {
  std::ostringstream out;
  try {
    for (const auto& [status, n] : jobs().count()) out << to_string(status) << ": " << n << "; ";
  } catch (const std::exception& e) {
    out << "(job counts unreadable: " << e.what() << ") ";
  }
  out << "\n--- " << log_name << " log ---\n" << tail(log(log_name), 3000);
  return out.str();
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    if (std::chrono::steady_clock::now() > until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::size_t lines_with(const fs::path& file, const std::string& text) {
  std::ifstream in(file);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find(text) != std::string::npos) ++n;
  return n;
}

}  // namespace stepline::test
