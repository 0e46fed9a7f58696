// A PostgreSQL store that cannot be used: a wrong password, a database that is not there or does
// not answer, a schema migration that fails. Each is refused with an error that names the store
// and the registration setting its URL comes from, never the password, and leaves nothing
// half-written: no table in the database, no file in the data folder.
#include <doctest/doctest.h>

#include <fstream>
#include <thread>

#include "store/kinds.hpp"
#include "testkit/process.hpp"

using namespace stepline;
using namespace stepline::test;

namespace {

/// A registration whose store is the PostgreSQL database `url` (through an environment variable,
/// as a deployment sets it), with no plug-ins and no endpoints.
struct PostgresRegistration {
  explicit PostgresRegistration(std::string database_url) : url(std::move(database_url)) {
    std::filesystem::create_directories(dir.path() / "plugins");
    std::ofstream(config()) << "host:\n"
                            << "  plugin_folder: plugins\n"
                            << "  data_folder: data\n"
                            << "  store:\n"
                            << "    postgresql: ${env:STEPLINE_TEST_DATABASE_URL}\n";
    std::ofstream(dir.path() / "requests.jsonl")
        << R"({"message":"Create","target":{"logicalName":"account"}})"
        << "\n";
  }
  std::filesystem::path config() const { return dir.path() / "stepline.yaml"; }
  /// Runs `stepline` with `args` and the URL in the environment; stdout and stderr together.
  Captured stepline(std::vector<std::string> args) const {
    std::vector<std::string> argv{"/usr/bin/env", "STEPLINE_TEST_DATABASE_URL=" + url,
                                  stepline_executable()};
    argv.insert(argv.end(), args.begin(), args.end());
    return capture(argv);
  }
  /// The error each command gives names the setting where the URL comes from.
  std::string setting() const { return "host.store.postgresql at " + config().string() + ":5:17"; }

  TempFolder dir;
  std::string url;
};

/// The tables of the public schema of `database` on the shared server.
std::string tables_of(const std::string& database) {
  return shared_postgres().sql(database,
                               "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");
}

}  // namespace

TEST_CASE("a wrong password is refused by every command, naming the setting, writing nothing") {
  auto& server = shared_postgres();
  const std::string database = "wrong_password";
  server.create_database(database);
  PostgresRegistration r(server.url(database, "not-the-password"));
  const auto config = r.config().string();
  auto expect_refusal = [&](const Captured& out, int status) {
    CHECK_MESSAGE(out.status == status, out.output);
    CHECK_MESSAGE(out.output.find(r.setting()) != std::string::npos, out.output);
    CHECK_MESSAGE(out.output.find("password authentication failed") != std::string::npos,
                  out.output);
    CHECK_MESSAGE(out.output.find("not-the-password") == std::string::npos, out.output);
  };
  expect_refusal(
      r.stepline({"run", "-c", config, "--requests", (r.dir.path() / "requests.jsonl").string()}),
      2);
  expect_refusal(r.stepline({"serve", "-c", config}), 2);
  expect_refusal(r.stepline({"jobs", "-c", config, "list"}), 2);
  expect_refusal(r.stepline({"store", "-c", config, "migrate"}), 1);
  CHECK(tables_of(database) == "0");
  CHECK_FALSE(std::filesystem::exists(r.dir.path() / "data" / "stepline.db"));

  // With the right password the same registration works, and the schema is made.
  PostgresRegistration right(server.url(database));
  auto migrated = right.stepline({"store", "-c", right.config().string(), "migrate"});
  CHECK_MESSAGE(migrated.status == 0, migrated.output);
  CHECK(migrated.output.find(", created") != std::string::npos);
  CHECK(tables_of(database) != "0");
}

TEST_CASE("a database that is not there, or does not answer, is refused, naming the setting") {
  auto& server = shared_postgres();
  {
    PostgresRegistration r(server.url("no_such_database"));
    auto out = r.stepline({"store", "-c", r.config().string(), "migrate"});
    CHECK(out.status == 1);
    CHECK(out.output.find(r.setting()) != std::string::npos);
    CHECK(out.output.find("\"no_such_database\" does not exist") != std::string::npos);
  }
  {
    const int closed = free_port();  // nothing listens there
    PostgresRegistration r("postgresql://stepline:secret@127.0.0.1:" + std::to_string(closed) +
                           "/stepline");
    auto out = r.stepline({"exec", "-c", r.config().string(), "--request",
                           R"({"message":"Create","target":{"logicalName":"account"}})"});
    CHECK(out.status == 2);
    CHECK(out.output.find(r.setting()) != std::string::npos);
    CHECK(out.output.find("Connection refused") != std::string::npos);
    CHECK(out.output.find("secret") == std::string::npos);
  }
  {
    SilentListener silent;  // accepts, and never answers
    PostgresRegistration r("postgresql://stepline@127.0.0.1:" + std::to_string(silent.port()) +
                           "/stepline?connect_timeout=2");
    auto started = std::chrono::steady_clock::now();
    auto out = r.stepline({"jobs", "-c", r.config().string(), "list"});
    CHECK(out.status == 2);
    CHECK(out.output.find(r.setting()) != std::string::npos);
    CHECK(out.output.find("timeout expired") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
  }
}

TEST_CASE("a migration that fails leaves the database as it was") {
  auto& server = shared_postgres();
  const std::string database = "half_written";
  auto url = server.create_database(database);
  // A table of the same name that is not the store's: the first migration cannot create its own.
  server.sql(database, "CREATE TABLE system_job_contexts (other text)");
  TempFolder data;
  auto where =
      host::store::Location::postgresql(url, "host.store.postgresql at test.yaml:1:1", data.path());
  CHECK_THROWS_WITH_AS(host::store::open_records(where),
                       doctest::Contains("system_job_contexts\" already exists"),
                       std::runtime_error);
  CHECK(tables_of(database) == "1");  // only the table that was there
  server.sql(database, "DROP TABLE system_job_contexts");
  CHECK(host::store::migrate(where).from == 0);
}

TEST_CASE_TEMPLATE("hosts that open a new store together migrate it once", Kind, STORE_KINDS) {
  // A race: a few new stores, each opened by four hosts at once, make a lost one likely to show.
  for (int round = 0; round < 8; ++round) {
    CAPTURE(round);
    Kind kind;
    std::atomic<int> opened{0}, failed{0};
    std::vector<std::thread> hosts;
    for (int h = 0; h < 4; ++h)
      hosts.emplace_back([&] {
        try {
          auto records = host::store::open_records(kind.location());
          auto jobs = host::store::open_jobs(kind.location());
          records->create(Entity("account"));
          ++opened;
        } catch (const std::exception& e) {
          MESSAGE(std::string(e.what()));
          ++failed;
        }
      });
    for (auto& t : hosts) t.join();
    CHECK(opened == 4);
    CHECK(failed == 0);
    auto records = host::store::open_records(kind.location());
    CHECK(records->retrieve_multiple({.entity_name = "account"}).entities.size() == 4);
  }
}
