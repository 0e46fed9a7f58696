// `stepline jobs`, `stepline run --drain` and `stepline serve`, run as an operator would: the
// real executable, the sample account_rules plug-ins registered as an asynchronous step, a data
// folder of the test's own. Exit statuses are part of the contract scripts rely on.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include <rapidjson/document.h>

#include "jobs/fixture.hpp"
#include "testkit/process.hpp"

using namespace stepline;
using namespace stepline::test;
namespace fs = std::filesystem;

namespace {

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// A registration whose account Creates queue an asynchronous plug-in job, and some requests.
struct Workspace {
  explicit Workspace(const std::string& step = "Tier later",
                     const std::string& plugin = "Samples.SetAccountTier") {
    config = folder.path() / "stepline.yaml";
    std::ofstream(config) << "host:\n"
                          << "  plugin_folder: "
                          << (fs::path(STEPLINE_BINARY_DIR) / "plugins").string() << "\n"
                          << "  data_folder: data\n"
                          << "  log_level: warn\n"
                          << "  async_workers: 2\n"
                          << "plugins:\n  - file: account_rules.so\n"
                          << "steps:\n"
                          << "  - name: " << step << "\n    message: Create\n    entity: account\n"
                          << "    stage: post-operation\n    mode: async\n"
                          << "    handler:\n      plugin: " << plugin << "\n";
    requests = folder.path() / "requests.jsonl";
    std::ofstream out(requests);
    for (int i = 0; i < 20; ++i)
      out << R"({"message":"Create","target":{"logicalName":"account","attributes":{"name":"A)" << i
          << R"(","revenue":{"@type":"money","value":"1000.00"}}}})"
          << "\n";
  }
  Captured jobs(std::vector<std::string> args) {
    args.insert(args.begin(), {"jobs", "-c", config.string()});
    return run_stepline(args);
  }
  /// Queues 20 jobs without running them.
  void queue() {
    auto r = run_stepline({"run", "-c", config.string(), "--requests", requests.string()});
    REQUIRE_MESSAGE(r.status == 0, r.output);
  }
  std::string first_id() {
    auto r = jobs({"list", "--json", "--limit", "1"});
    REQUIRE(r.status == 0);
    auto at = r.output.find("\"id\":\"");
    REQUIRE(at != std::string::npos);
    return r.output.substr(at + 6, 36);
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
  CHECK(occurrences(all.output, "\"status\":\"ready\"") == 20);
  CHECK(occurrences(all.output, "\"step\":\"Tier later\"") == 20);
  CHECK(all.output.find("\"context\"") == std::string::npos);  // listings leave contexts out

  auto text = w.jobs({"list", "--status", "ready", "--limit", "5"});
  CHECK(text.status == 0);
  CHECK(occurrences(text.output, "Tier later") == 5);
  CHECK(w.jobs({"list", "--status", "failed", "--json"}).output == "[]\n");
  CHECK(w.jobs({"list", "--entity", "contact", "--json"}).output == "[]\n");
  CHECK(occurrences(w.jobs({"list", "--step", "Tier later", "--limit", "0"}).output,
                    "Tier later") == 20);

  auto bad = w.jobs({"list", "--status", "sleeping"});
  CHECK(bad.status == 2);
  CHECK(bad.output.find("'sleeping' is not a job status") != std::string::npos);
}

TEST_CASE("stepline jobs list cuts a step name wider than its column and keeps the columns") {
  Workspace w("Set the account tier a little later than now");
  w.queue();
  auto text = w.jobs({"list", "--limit", "0"});
  REQUIRE(text.status == 0);
  std::istringstream lines(text.output);
  std::string header;
  std::getline(lines, header);
  const auto entity_column = header.find("ENTITY");
  REQUIRE(entity_column != std::string::npos);
  int rows = 0;
  for (std::string row; std::getline(lines, row); ++rows) {
    CAPTURE(row);
    CHECK(row.find("Set the account tier a li...") != std::string::npos);
    CHECK(row.compare(entity_column, 7, "account") == 0);
  }
  CHECK(rows == 20);
  // The whole name is in the JSON listing.
  CHECK(w.jobs({"list", "--json", "--limit", "1"})
            .output.find("\"step\":\"Set the account tier a little later than now\"") !=
        std::string::npos);
}

TEST_CASE("stepline jobs show prints every field and the context size; unknown ids exit 3") {
  Workspace w;
  w.queue();
  auto id = w.first_id();
  auto r = w.jobs({"show", id});
  CHECK(r.status == 0);
  CHECK(r.output.find("status             ready (state 0, status 0)") != std::string::npos);
  CHECK(r.output.find("context size") != std::string::npos);
  CHECK(r.output.find("Tier later") != std::string::npos);
  auto json = w.jobs({"show", id.substr(24), "--json"});  // the random end of a time-ordered id
  CHECK(json.status == 0);
  CHECK(json.output.find("\"contextSize\":") != std::string::npos);
  CHECK(json.output.find("\"context\":{") != std::string::npos);

  auto missing = w.jobs({"show", "00000000-0000-0000-0000-000000000000"});
  CHECK(missing.status == 3);
  CHECK(missing.output.find("no system job has the id") != std::string::npos);
  CHECK(w.jobs({"cancel", "ffffffff"}).status == 3);
}

TEST_CASE("stepline jobs show says what is wrong with a context that cannot be read") {
  Workspace w;
  w.queue();
  auto id = w.first_id();
  // The first record of the context log cut short on the disk.
  const auto segment = w.folder.path() / "data" / "stepline.db-contexts" / "00000001.log";
  REQUIRE(fs::exists(segment));
  fs::resize_file(segment, 30);
  auto r = w.jobs({"show", id, "--context"});
  CHECK(r.status == 0);
  CHECK(r.output.find("cannot be read: the file ends before the record does") != std::string::npos);
  CHECK(r.output.find(segment.string()) != std::string::npos);
  auto json = w.jobs({"show", id, "--json"});
  CHECK(json.status == 0);
  CHECK(json.output.find("\"context\":null,\"contextProblem\":\"the frozen context of system job " +
                         id) != std::string::npos);
  // Still one JSON object a line that a parser takes.
  CHECK(json.output.find('\x01') == std::string::npos);
}

TEST_CASE("stepline jobs show and list write the control characters of a job's texts visibly") {
  Workspace w;
  w.queue();
  auto id = w.first_id();
  // Texts as a hostile endpoint or plug-in could leave them: escape sequences that would retitle
  // the terminal, colour it or clear it.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((w.folder.path() / "data" / "stepline.db").c_str(), &db) == SQLITE_OK);
  const std::string sql =
      "UPDATE system_jobs SET message_text = 'error \x1b]0;title\x07 end', "
      "friendly_message = 'friendly \x1b[31mred', trace = 'line 1' || char(10) || "
      "'line' || char(9) || '\x1b[2J 2' WHERE id = '" +
      id + "'";
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto shown = w.jobs({"show", id});
  CHECK(shown.status == 0);
  CHECK(shown.output.find('\x1b') == std::string::npos);
  CHECK_MESSAGE(shown.output.find("error \\u001b]0;title\\u0007 end\n") != std::string::npos,
                shown.output);
  CHECK(shown.output.find("friendly \\u001b[31mred\n") != std::string::npos);
  CHECK(shown.output.find("  line 1\n  line\t\\u001b[2J 2\n") != std::string::npos);
  auto listed = w.jobs({"list"});
  CHECK(listed.status == 0);
  CHECK(listed.output.find('\x1b') == std::string::npos);
  CHECK(listed.output.find("friendly \\u001b[31mred") != std::string::npos);
}

TEST_CASE("cancel, resume, retry and postpone exit 0 when applied and 1 when refused") {
  Workspace w;
  w.queue();
  auto id = w.first_id();

  auto postponed = w.jobs({"postpone", id, "--until", "2h"});
  CHECK(postponed.status == 0);
  CHECK(postponed.output == "system job " + id + " is now waiting\n");
  CHECK(w.jobs({"list", "--status", "waiting", "--json"}).output.find(id) != std::string::npos);
  CHECK(w.jobs({"postpone", id, "--until", "2030-01-01T00:00:00Z"}).status == 0);
  CHECK(w.jobs({"show", id}).output.find("2030-01-01T00:00:00.000Z") != std::string::npos);
  auto bad_time = w.jobs({"postpone", id, "--until", "tomorrow-ish"});
  CHECK(bad_time.status == 2);
  CHECK(bad_time.output.find("neither an ISO-8601 time") != std::string::npos);

  CHECK(w.jobs({"resume", id}).status == 0);
  auto again = w.jobs({"resume", id});
  CHECK(again.status == 1);
  CHECK(again.output.find("refused: system job " + id + " is ready") != std::string::npos);

  CHECK(w.jobs({"retry", id}).status == 1);  // a ready job has nothing to retry
  auto canceled = w.jobs({"cancel", id});
  CHECK(canceled.status == 0);
  CHECK(canceled.output == "system job " + id + " is now canceled\n");
  auto twice = w.jobs({"cancel", id});
  CHECK(twice.status == 1);
  CHECK(twice.output.find("a completed job cannot be canceled") != std::string::npos);
  CHECK(w.jobs({"retry", id}).status == 0);
  CHECK(w.jobs({"show", id, "--json"}).output.find("\"status\":\"ready\"") != std::string::npos);
  CHECK(w.jobs({"cancel"}).status == 2);  // no id: bad input
}

TEST_CASE("stepline run --drain runs the queued jobs in-process and summarises them") {
  Workspace w;
  auto r =
      run_stepline({"run", "-c", w.config.string(), "--requests", w.requests.string(), "--drain"});
  CHECK_MESSAGE(r.status == 0, r.output);
  CHECK(r.output.find("20 requests in") != std::string::npos);
  CHECK(r.output.find("async jobs: 20 succeeded, 0 failed, 0 canceled") != std::string::npos);
  auto done = w.jobs({"list", "--status", "succeeded", "--json", "--limit", "0"});
  CHECK(occurrences(done.output, "\"status\":\"succeeded\"") == 20);

  // purge needs a status and a sane age
  CHECK(w.jobs({"purge", "--older-than", "7d"}).status == 2);
  CHECK(w.jobs({"purge", "--succeeded", "--older-than", "soon"}).status == 2);
  auto kept = w.jobs({"purge", "--succeeded", "--older-than", "7d"});
  CHECK(kept.status == 0);
  CHECK(kept.output.find("purged 0 job(s)") == 0);
  auto purged = w.jobs({"purge", "--succeeded", "--older-than", "0s"});
  CHECK(purged.status == 0);
  CHECK(purged.output.find("purged 20 job(s)") == 0);
  CHECK(w.jobs({"list", "--json"}).output == "[]\n");
}

TEST_CASE("a failed job's log line gives its reason once, with the step's name") {
  Workspace w("Validate later", "Samples.ValidateAccount");
  auto r = run_stepline(
      {"exec", "-c", w.config.string(), "--drain", "--request",
       R"({"message":"Create","target":{"logicalName":"account","attributes":{"revenue":1}}})"});
  CAPTURE(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("async jobs: 0 succeeded, 1 failed") != std::string::npos);
  const auto at = r.output.find("failed: step 'Validate later': An account needs a name.");
  REQUIRE(at != std::string::npos);
  const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
  CHECK(occurrences(line, "An account needs a name.") == 1);
  CHECK(occurrences(line, "Validate later") == 1);
}

TEST_CASE("stepline run --parallel runs every line, their jobs too") {
  Workspace w;
  auto r = run_stepline({"run", "-c", w.config.string(), "--requests", w.requests.string(),
                         "--drain", "--parallel", "4"});
  CHECK_MESSAGE(r.status == 0, r.output);
  CHECK(r.output.find("20 requests in") != std::string::npos);
  CHECK(r.output.find("20 succeeded, 0 rejected") != std::string::npos);
  CHECK(r.output.find("async jobs: 20 succeeded, 0 failed, 0 canceled") != std::string::npos);
  CHECK(run_stepline(
            {"run", "-c", w.config.string(), "--requests", w.requests.string(), "--parallel", "0"})
            .status != 0);
}

TEST_CASE("stepline exec --drain waits for the request's job") {
  Workspace w;
  auto r = run_stepline(
      {"exec", "-c", w.config.string(), "--drain", "--request",
       R"({"message":"Create","target":{"logicalName":"account","attributes":{"name":"Solo"}}})"});
  CHECK_MESSAGE(r.status == 0, r.output);
  CHECK(r.output.find("async jobs: 1 succeeded") != std::string::npos);
}

TEST_CASE("stepline serve with log_format json writes one JSON object a line") {
  Workspace w;
  {
    std::ifstream in(w.config);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string level = "  log_level: warn\n";
    REQUIRE(text.find(level) != std::string::npos);
    text.replace(text.find(level), level.size(), "  log_level: info\n  log_format: json\n");
    std::ofstream(w.config) << text;
  }
  auto log = w.folder.path() / "serve.log";
  pid_t serve =
      spawn({stepline_executable(), "serve", "-c", w.config.string(), "--grace", "5s"}, {}, log);
  CHECK_MESSAGE(eventually([&] { return tail(log).find("stepline serve") != std::string::npos; },
                           std::chrono::seconds(20)),
                tail(log));
  ::kill(serve, SIGTERM);
  int status = 0;
  REQUIRE(waitpid(serve, &status, 0) == serve);
  CHECK(WIFEXITED(status));

  std::ifstream in(log);
  int lines = 0;
  bool started = false;
  for (std::string line; std::getline(in, line); ++lines) {
    CAPTURE(line);
    rapidjson::Document d;
    d.Parse(line.c_str(), line.size());
    REQUIRE_FALSE(d.HasParseError());
    REQUIRE(d.IsObject());
    CHECK(d.HasMember("time"));
    CHECK(d.HasMember("level"));
    REQUIRE(d.HasMember("message"));
    REQUIRE(d["message"].IsString());
    // A path with a backslash or quote would break the line if the message were not escaped.
    if (std::string(d["message"].GetString()).find("stepline serve") != std::string::npos)
      started = true;
  }
  CHECK(lines >= 2);
  CHECK(started);
}

TEST_CASE("stepline serve works off queued jobs and stops cleanly on SIGTERM") {
  Workspace w;
  w.queue();
  auto log = w.folder.path() / "serve.log";
  pid_t serve =
      spawn({stepline_executable(), "serve", "-c", w.config.string(), "--grace", "5s"}, {}, log);
  bool done = eventually(
      [&] {
        auto r = w.jobs({"list", "--status", "succeeded", "--json", "--limit", "0"});
        return occurrences(r.output, "\"status\":\"succeeded\"") == 20;
      },
      std::chrono::seconds(30));
  CHECK_MESSAGE(done, tail(log));
  ::kill(serve, SIGTERM);
  int status = 0;
  REQUIRE(waitpid(serve, &status, 0) == serve);
  CHECK(WIFEXITED(status));
  CHECK_MESSAGE(WEXITSTATUS(status) == 0, tail(log));
  CHECK(w.jobs({"list", "--status", "in-progress", "--json"}).output == "[]\n");
}
