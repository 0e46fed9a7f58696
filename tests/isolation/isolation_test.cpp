// Steps registered with `isolation: process` run their plug-in in a `stepline plugins worker`
// process: their changes, traces and nested requests reach the host as if they ran in it, and
// a worker that crashes, exits or hangs fails only its operation.
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <stepline/host/catalog/plugin_catalog.hpp>
#include <stepline/host/host.hpp>
#include <stepline/host/isolation/isolated_plugin.hpp>
#include <stepline/registration/load.hpp>

namespace {

namespace fs = std::filesystem;
using namespace stepline;

class TempFolder {
 public:
  TempFolder() {
    std::string pattern = (fs::temp_directory_path() / "stepline-isolation-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// The catalog's plug-ins as ConfiguredHost serves them, keeping the isolated ones at hand.
class CatalogFactory final : public host::isolation::CatalogPlugins {
 public:
  using CatalogPlugins::CatalogPlugins;
  std::shared_ptr<Plugin> create_for(const registration::Step& step) override {
    auto plugin = CatalogPlugins::create_for(step);
    if (auto* isolated = dynamic_cast<host::isolation::IsolatedPlugin*>(plugin.get()))
      isolated_[step.name] = isolated;
    return plugin;
  }
  host::isolation::IsolatedPlugin* isolated(const std::string& step) { return isolated_.at(step); }

 private:
  std::map<std::string, host::isolation::IsolatedPlugin*> isolated_;
};

/// A host over a registration whose steps are `steps_yaml` (a YAML list), with the test plug-ins.
struct IsolatedHost {
  explicit IsolatedHost(const std::string& steps_yaml) {
    const fs::path file = folder.path() / "stepline.yaml";
    std::ofstream(file) << "host:\n  plugin_folder: " << ISOLATION_PLUGIN_DIR
                        << "\n  data_folder: " << (folder.path() / "data").string() << "\nsteps:\n"
                        << steps_yaml;
    registration::Registration r = registration::load(file);
    host::catalog::CatalogSettings settings = host::catalog::CatalogSettings::from(r);
    settings.scanner = fs::path(STEPLINE_BINARY_DIR) / "bin" / "stepline";
    catalog = std::make_unique<host::catalog::PluginCatalog>(settings);
    factory = std::make_unique<CatalogFactory>(*catalog);
    host = std::make_unique<host::Host>(std::move(r), *factory);
  }

  host::pipeline::OperationResponse create(Entity e) {
    host::pipeline::OperationRequest request;
    request.message = "Create";
    request.parameters = {{"Target", Value(std::move(e))}};
    return host->execute(request);
  }
  Entity read(const std::string& entity, const Guid& id) {
    auto record = host->store().retrieve(entity, id, ColumnSet::all());
    REQUIRE(record.has_value());
    return *record;
  }
  std::size_t count(const std::string& entity) {
    Query q;
    q.entity_name = entity;
    return host->store().retrieve_multiple(q).entities.size();
  }

  TempFolder folder;
  std::unique_ptr<host::catalog::PluginCatalog> catalog;
  std::unique_ptr<CatalogFactory> factory;
  std::unique_ptr<host::Host> host;
};

std::string step(const std::string& name, const std::string& type, const std::string& stage,
                 const std::string& entity = "account", const std::string& extra = "") {
  return "  - name: " + name + "\n    message: Create\n    entity: " + entity +
         "\n    stage: " + stage + "\n    handler: { plugin: " + type +
         " }\n    isolation: process\n" + extra;
}

Guid created_id(const host::pipeline::OperationResponse& r) {
  return r.output_parameters.at("id").as<Guid>();
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Entity account(const std::string& name, const std::string& fault = "") {
  Entity e("account");
  e.set("name", Value(name));
  if (!fault.empty()) e.set("fault", Value(fault));
  return e;
}

}  // namespace

TEST_CASE(
    "an isolated step's target changes and shared variables reach the record and later steps") {
  IsolatedHost h(step("stamp", "Tests.Stamp", "pre-operation") +
                 step("see stamp", "Tests.ReadShared", "post-operation"));
  auto r = h.create(account("Contoso"));
  REQUIRE_MESSAGE(r.ok(), r.error_message);
  const Entity stored = h.read("account", created_id(r));
  const int pid = stored.get_as<int>("stamped_pid").value_or(0);
  CHECK(pid != 0);
  CHECK(pid != ::getpid());
  CHECK(stored.get_as<int>("stamped_depth") == 1);
  REQUIRE(r.traces.size() == 2);
  CHECK(r.traces[0] == "stamp: stamped account in process " + std::to_string(pid) + " at depth 1");
  CHECK(r.traces[1] == "see stamp: shared stamped_pid = " + std::to_string(pid));
}

TEST_CASE(
    "a worker is reused across operations and keeps the secure configuration off its "
    "command line and environment") {
  ::setenv("ISOLATION_TEST_SECRET", "s3cret-Value-91", 1);
  IsolatedHost h(step("stamp", "Tests.Stamp", "pre-operation", "account",
                      "    secure_configuration: ${env:ISOLATION_TEST_SECRET}\n"));
  auto first = h.create(account("one"));
  auto second = h.create(account("two"));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  const Entity a = h.read("account", created_id(first));
  const Entity b = h.read("account", created_id(second));
  CHECK(a.get_as<int>("stamped_pid") == b.get_as<int>("stamped_pid"));
  CHECK(a.get_as<int>("secure_length") == static_cast<int>(std::string("s3cret-Value-91").size()));

  const auto pids = h.factory->isolated("stamp")->idle_worker_pids();
  REQUIRE(pids.size() == 1);
  CHECK(pids[0] == a.get_as<int>("stamped_pid"));
  const fs::path proc = "/proc/" + std::to_string(pids[0]);
  const std::string cmdline = read_file(proc / "cmdline");
  CHECK(cmdline.find("plugins") != std::string::npos);  // it is the worker we think it is
  CHECK(cmdline.find("s3cret") == std::string::npos);
  CHECK(read_file(proc / "environ").find("s3cret") == std::string::npos);
  ::unsetenv("ISOLATION_TEST_SECRET");
}

TEST_CASE("a nested create from an isolated plug-in runs at depth 2 in the caller's transaction") {
  IsolatedHost h(step("create contact", "Tests.CreateContact", "pre-operation") +
                 step("stamp contact", "Tests.Stamp", "pre-operation", "contact") +
                 step("reject", "Tests.Reject", "post-operation"));

  auto kept = h.create(account("Fabrikam"));
  REQUIRE_MESSAGE(kept.ok(), kept.error_message);
  CHECK(h.count("contact") == 1);
  REQUIRE(kept.traces.size() == 2);
  CHECK(kept.traces[0].rfind("stamp contact: stamped contact in process ", 0) == 0);
  CHECK(kept.traces[0].find("at depth 2") != std::string::npos);
  CHECK(kept.traces[1] == "create contact: created contact Fabrikam at depth 2");

  auto rejected = h.create(account("reject me"));
  CHECK(rejected.outcome == host::pipeline::Outcome::rejected);
  CHECK(rejected.error_message == "accounts may not be called 'reject me'");
  CHECK(rejected.error_code == 4242);
  CHECK(h.count("contact") == 1);  // the nested create was rolled back with the operation
  CHECK(h.count("account") == 1);
}

TEST_CASE("a nested request that runs the same isolated step again gets a second worker") {
  IsolatedHost h(step("create contact", "Tests.CreateContact", "pre-operation", "any"));
  Entity northwind = account("Northwind");
  northwind.id = Guid::random();  // not the nested contact's (nil) id, or it looks like a loop
  auto r = h.create(northwind);
  REQUIRE_MESSAGE(r.ok(), r.error_message);
  REQUIRE(r.traces.size() == 2);
  CHECK(r.traces[0] == "create contact: nothing to do for a contact");
  CHECK(h.count("contact") == 1);
  const auto pids = h.factory->isolated("create contact")->idle_worker_pids();
  REQUIRE(pids.size() == 2);
  CHECK(pids[0] != pids[1]);
}

TEST_CASE("an isolated plug-in's unexpected exception gives the generic message with a trace id") {
  IsolatedHost h(step("faulty", "Tests.Faulty", "pre-operation"));
  auto r = h.create(account("x", "throw"));
  CHECK(r.outcome == host::pipeline::Outcome::failed);
  CHECK(r.error_message.find("an unexpected error occurred in plug-in step 'faulty'") == 0);
  CHECK(!r.trace_id.empty());
  CHECK(h.create(account("y")).ok());
}

TEST_CASE(
    "a worker that crashes, aborts or exits fails only its operation, and the next one works") {
  IsolatedHost h(step("faulty", "Tests.Faulty", "pre-operation"));
  auto healthy = h.create(account("before"));
  REQUIRE(healthy.ok());
  const int first_pid =
      h.read("account", created_id(healthy)).get_as<int>("survived_in").value_or(0);

  struct Case {
    const char* fault;
    const char* says;
  };
  for (const Case c : {Case{"segv", "died with SIGSEGV"}, Case{"abort", "died with SIGABRT"},
                       Case{"exit", "exited unexpectedly with exit status 7"}}) {
    CAPTURE(c.fault);
    auto r = h.create(account("boom", c.fault));
    CHECK(r.outcome == host::pipeline::Outcome::failed);
    CHECK(r.error_message.find("plug-in process for step 'faulty' (Tests.Faulty) " +
                               std::string(c.says)) == 0);
    auto next = h.create(account("after"));
    REQUIRE_MESSAGE(next.ok(), next.error_message);
    const int pid = h.read("account", created_id(next)).get_as<int>("survived_in").value_or(0);
    CHECK(pid != 0);
    CHECK(pid != first_pid);
  }
  CHECK(h.count("account") == 4);
}

TEST_CASE("a worker that sends a frame nested a hundred thousand levels deep is stopped") {
  IsolatedHost h(step("faulty", "Tests.Faulty", "pre-operation"));
  auto r = h.create(account("deep", "deep-frame"));
  CHECK(r.outcome == host::pipeline::Outcome::failed);
  CHECK(r.error_message.find("sent a frame that could not be read (a frame is not JSON: "
                             "line[0][0][0]") != std::string::npos);
  CHECK(r.error_message.find("nested more than 257 levels deep") != std::string::npos);
  CHECK(h.create(account("after")).ok());
}

TEST_CASE("a worker that hangs past the step's timeout is killed and the operation fails") {
  IsolatedHost h(
      step("faulty", "Tests.Faulty", "pre-operation", "account", "    timeout: 1500ms\n"));
  REQUIRE(h.create(account("warm up")).ok());
  const auto pids = h.factory->isolated("faulty")->idle_worker_pids();
  REQUIRE(pids.size() == 1);

  auto r = h.create(account("stuck", "hang"));
  CHECK(r.outcome == host::pipeline::Outcome::failed);
  CHECK(r.error_message.find("plug-in process for step 'faulty' (Tests.Faulty) did not answer "
                             "within 1.5 s") == 0);
  CHECK(::kill(pids[0], 0) != 0);  // the hung worker is gone
  CHECK(h.create(account("after")).ok());
}

TEST_CASE(
    "a step's timeout must be positive and is warned about on a sync step without isolation") {
  TempFolder folder;
  const fs::path file = folder.path() / "stepline.yaml";
  auto load = [&](const std::string& extra) {
    std::ofstream(file) << "steps:\n  - name: s\n    message: Create\n    stage: pre-operation\n"
                           "    handler: { plugin: Tests.Stamp }\n"
                        << extra;
    return registration::load(file);
  };
  CHECK(load("    isolation: process\n    timeout: 45s\n").steps.at(0).timeout ==
        std::chrono::seconds(45));
  CHECK(load("    isolation: process\n").steps.at(0).timeout == std::chrono::minutes(2));
  const auto unenforced = load("    timeout: 45s\n");
  REQUIRE(unenforced.warnings.size() == 1);
  CHECK(unenforced.warnings[0].str().find("timeout: a sync step in process cannot be stopped") !=
        std::string::npos);
  // An async step's job fails when it runs too long, isolated or not.
  std::ofstream(file) << "steps:\n  - name: s\n    message: Create\n    stage: post-operation\n"
                         "    mode: async\n    handler: { plugin: Tests.Stamp }\n"
                         "    timeout: 45s\n";
  const auto async = registration::load(file);
  CHECK(async.warnings.empty());
  CHECK(async.steps.at(0).timeout == std::chrono::seconds(45));
  CHECK_THROWS_WITH_AS(load("    isolation: process\n    timeout: 0s\n"),
                       doctest::Contains("timeout: must be longer than 0ms"),
                       registration::RegistrationError);
}
