// `stepline jobs`, `stepline run --drain` and `stepline serve`, run as an operator would: the
// real executable, the sample account_rules plug-ins registered as an asynchronous step, a data
// folder of the test's own. Exit statuses are part of the contract scripts rely on.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "jobs/fixture.hpp"
#include "support/process.hpp"

using namespace stepline;
using namespace stepline::test;
namespace fs = std::filesystem;

namespace {

struct Result {
  int status = -1;
  std::string out;  ///< stdout and stderr together
};

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string stepline_path() {
  return (fs::path(STEPLINE_BINARY_DIR) / "bin" / "stepline").string();
}

Result stepline_cli(const std::vector<std::string>& args) {
  std::string command = quote(stepline_path());
  for (const auto& a : args) command += " " + quote(a);
  command += " 2>&1";
  Result r;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe);
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    r.out.append(buffer.data(), n);
  int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// A registration whose account Creates queue an asynchronous plug-in job, and some requests.
struct Workspace {
  Workspace() {
    config = folder.path() / "stepline.yaml";
    std::ofstream(config) << "host:\n"
                          << "  plugin_folder: "
                          << (fs::path(STEPLINE_BINARY_DIR) / "plugins").string() << "\n"
                          << "  data_folder: data\n"
                          << "  log_level: warn\n"
                          << "  async_workers: 2\n"
                          << "plugins:\n  - file: account_rules.so\n"
                          << "steps:\n"
                          << "  - name: Tier later\n    message: Create\n    entity: account\n"
                          << "    stage: post-operation\n    mode: async\n"
                          << "    handler:\n      plugin: Samples.SetAccountTier\n";
    requests = folder.path() / "requests.jsonl";
    std::ofstream out(requests);
    for (int i = 0; i < 20; ++i)
      out << R"({"message":"Create","target":{"logicalName":"account","attributes":{"name":"A)" << i
          << R"(","revenue":{"@type":"money","value":"1000.00"}}}})"
          << "\n";
  }
  Result jobs(std::vector<std::string> args) {
    args.insert(args.begin(), {"jobs", "-c", config.string()});
    return stepline_cli(args);
  }
  /// Queues 20 jobs without running them.
  void queue() {
    auto r = stepline_cli({"run", "-c", config.string(), "--requests", requests.string()});
    REQUIRE_MESSAGE(r.status == 0, r.out);
  }
  std::string first_id() {
    auto r = jobs({"list", "--json", "--limit", "1"});
    REQUIRE(r.status == 0);
    auto at = r.out.find("\"id\":\"");
    REQUIRE(at != std::string::npos);
    return r.out.substr(at + 6, 36);
  }
  TempFolder folder;
  fs::path config;
  fs::path requests;
};

}  // namespace

TEST_CASE("stepline jobs list shows queued jobs, filtered, as text or JSON") {
  Workspace w;
  w.queue();
  auto all = w.jobs({"list", "--json", "--limit", "0"});
  CHECK(all.status == 0);
  CHECK(occurrences(all.out, "\"status\":\"ready\"") == 20);
  CHECK(occurrences(all.out, "\"step\":\"Tier later\"") == 20);
  CHECK(all.out.find("\"context\"") == std::string::npos);  // listings leave contexts out

  auto text = w.jobs({"list", "--status", "ready", "--limit", "5"});
  CHECK(text.status == 0);
  CHECK(occurrences(text.out, "Tier later") == 5);
  CHECK(w.jobs({"list", "--status", "failed", "--json"}).out == "[]\n");
  CHECK(w.jobs({"list", "--entity", "contact", "--json"}).out == "[]\n");
  CHECK(occurrences(w.jobs({"list", "--step", "Tier later", "--limit", "0"}).out, "Tier later") ==
        20);

  auto bad = w.jobs({"list", "--status", "sleeping"});
  CHECK(bad.status == 2);
  CHECK(bad.out.find("'sleeping' is not a job status") != std::string::npos);
}

TEST_CASE("stepline jobs show prints every field and the context size; unknown ids exit 3") {
  Workspace w;
  w.queue();
  auto id = w.first_id();
  auto r = w.jobs({"show", id});
  CHECK(r.status == 0);
  CHECK(r.out.find("status             ready (state 0, status 0)") != std::string::npos);
  CHECK(r.out.find("context size") != std::string::npos);
  CHECK(r.out.find("Tier later") != std::string::npos);
  auto json = w.jobs({"show", id.substr(0, 8), "--json"});
  CHECK(json.status == 0);
  CHECK(json.out.find("\"contextSize\":") != std::string::npos);
  CHECK(json.out.find("\"context\":{") != std::string::npos);

  auto missing = w.jobs({"show", "00000000-0000-0000-0000-000000000000"});
  CHECK(missing.status == 3);
  CHECK(missing.out.find("no system job has the id") != std::string::npos);
  CHECK(w.jobs({"cancel", "ffffffff"}).status == 3);
}

TEST_CASE("cancel, resume, retry and postpone exit 0 when applied and 1 when refused") {
  Workspace w;
  w.queue();
  auto id = w.first_id();

  auto postponed = w.jobs({"postpone", id, "--until", "2h"});
  CHECK(postponed.status == 0);
  CHECK(postponed.out == "system job " + id + " is now waiting\n");
  CHECK(w.jobs({"list", "--status", "waiting", "--json"}).out.find(id) != std::string::npos);
  CHECK(w.jobs({"postpone", id, "--until", "2030-01-01T00:00:00Z"}).status == 0);
  CHECK(w.jobs({"show", id}).out.find("2030-01-01T00:00:00.000Z") != std::string::npos);
  auto bad_time = w.jobs({"postpone", id, "--until", "tomorrow-ish"});
  CHECK(bad_time.status == 2);
  CHECK(bad_time.out.find("neither an ISO-8601 time") != std::string::npos);

  CHECK(w.jobs({"resume", id}).status == 0);
  auto again = w.jobs({"resume", id});
  CHECK(again.status == 1);
  CHECK(again.out.find("refused: system job " + id + " is ready") != std::string::npos);

  CHECK(w.jobs({"retry", id}).status == 1);  // a ready job has nothing to retry
  auto canceled = w.jobs({"cancel", id});
  CHECK(canceled.status == 0);
  CHECK(canceled.out == "system job " + id + " is now canceled\n");
  auto twice = w.jobs({"cancel", id});
  CHECK(twice.status == 1);
  CHECK(twice.out.find("a completed job cannot be canceled") != std::string::npos);
  CHECK(w.jobs({"retry", id}).status == 0);
  CHECK(w.jobs({"show", id, "--json"}).out.find("\"status\":\"ready\"") != std::string::npos);
  CHECK(w.jobs({"cancel"}).status == 2);  // no id: bad input
}

TEST_CASE("stepline run --drain runs the queued jobs in-process and summarises them") {
  Workspace w;
  auto r =
      stepline_cli({"run", "-c", w.config.string(), "--requests", w.requests.string(), "--drain"});
  CHECK_MESSAGE(r.status == 0, r.out);
  CHECK(r.out.find("20 requests in") != std::string::npos);
  CHECK(r.out.find("async jobs: 20 succeeded, 0 failed, 0 canceled") != std::string::npos);
  auto done = w.jobs({"list", "--status", "succeeded", "--json", "--limit", "0"});
  CHECK(occurrences(done.out, "\"status\":\"succeeded\"") == 20);

  // purge needs a status and a sane age
  CHECK(w.jobs({"purge", "--older-than", "7d"}).status == 2);
  CHECK(w.jobs({"purge", "--succeeded", "--older-than", "soon"}).status == 2);
  auto kept = w.jobs({"purge", "--succeeded", "--older-than", "7d"});
  CHECK(kept.status == 0);
  CHECK(kept.out.find("purged 0 job(s)") == 0);
  auto purged = w.jobs({"purge", "--succeeded", "--older-than", "0s"});
  CHECK(purged.status == 0);
  CHECK(purged.out.find("purged 20 job(s)") == 0);
  CHECK(w.jobs({"list", "--json"}).out == "[]\n");
}

TEST_CASE("stepline exec --drain waits for the request's job") {
  Workspace w;
  auto r = stepline_cli(
      {"exec", "-c", w.config.string(), "--drain", "--request",
       R"({"message":"Create","target":{"logicalName":"account","attributes":{"name":"Solo"}}})"});
  CHECK_MESSAGE(r.status == 0, r.out);
  CHECK(r.out.find("async jobs: 1 succeeded") != std::string::npos);
}

TEST_CASE("stepline serve works off queued jobs and stops cleanly on SIGTERM") {
  Workspace w;
  w.queue();
  auto log = w.folder.path() / "serve.log";
  pid_t serve =
      spawn({stepline_path(), "serve", "-c", w.config.string(), "--grace", "5s"}, {}, log);
  bool done = eventually(
      [&] {
        auto r = w.jobs({"list", "--status", "succeeded", "--json", "--limit", "0"});
        return occurrences(r.out, "\"status\":\"succeeded\"") == 20;
      },
      std::chrono::seconds(30));
  CHECK_MESSAGE(done, tail(log));
  ::kill(serve, SIGTERM);
  int status = 0;
  REQUIRE(waitpid(serve, &status, 0) == serve);
  CHECK(WIFEXITED(status));
  CHECK_MESSAGE(WEXITSTATUS(status) == 0, tail(log));
  CHECK(w.jobs({"list", "--status", "in-progress", "--json"}).out == "[]\n");
}
