// Hot reload of `stepline serve`: a library dropped into the plug-in folder and a step added to
// the YAML run without a restart; a broken registration keeps the one in use and is counted;
// an operation under way finishes on its generation while new ones use the next, and a replaced
// library unloads when its last instance is gone; SIGHUP and `stepline reload` reload; a library
// that crashes while loading is refused by the scan and never takes the host down.
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <future>
#include <regex>

#include <stepline/host/configured_host.hpp>

#include "service/serve_fixture.hpp"

using namespace stepline::test;
namespace fs = std::filesystem;

namespace {

// Pre-validation, outside the transaction: an operation held in it keeps no other waiting.
const std::string probe_step = R"(
  - name: Probe
    message: tests_Probe
    stage: pre-validation
    handler: {plugin: Tests.Probe}
)";
const std::string greet_step = R"(
  - name: Greet
    message: tests_Greet
    stage: post-operation
    handler: {plugin: Tests.Greet}
)";

std::string sections(const std::string& steps) {
  return "http:\n  listen: 127.0.0.1:0\nsteps:" + steps;
}

/// A plug-in folder of the test's own, with the given libraries of the build copied in (as
/// name in the folder, file in the build).
class PluginFolder {
 public:
  PluginFolder() : dir_("stepline-reload-plugins-") {}
  const fs::path& path() const { return dir_.path(); }
  /// Moves a complete copy in under `name`, as `install` or `mv` would.
  void drop(const std::string& library, const std::string& name) const {
    auto partial = path() / ("." + name + ".partial");
    fs::copy_file(fs::path(RELOAD_PLUGIN_DIR) / library, partial,
                  fs::copy_options::overwrite_existing);
    fs::rename(partial, path() / name);
  }

 private:
  TempDir dir_;
};

/// Writes the registration the way an editor saves: a new file renamed over the old one.
void save(const Served& s, const PluginFolder& plugins, const std::string& body) {
  auto partial = s.folder() / ".stepline.yaml.swp";
  std::ofstream(partial) << "host:\n  plugin_folder: " << plugins.path().string()
                         << "\n  data_folder: data\n  log_level: info\n"
                         << body;
  fs::rename(partial, s.config());
}

/// The generation /healthz reports, or -1.
long generation(const Served& s) {
  static const std::regex number(R"("generation":(\d+))");
  std::smatch m;
  auto body = s.request("GET", "/healthz").body;
  return std::regex_search(body, m, number) ? std::stol(m[1]) : -1;
}

/// A sample's value from /metrics (the whole series name with its labels), or -1.
double metric(const Served& s, const std::string& series) {
  auto text = s.request("GET", "/metrics").body;
  auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

HttpReply call(const Served& s, const std::string& message, const std::string& body = "{}") {
  return s.request("POST", "/api/data/v9.2/" + message, body,
                   {{"Content-Type", "application/json"}});
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// "FILE:LINE:" of the first line of `file` that contains `text`.
std::string place_of(const fs::path& file, const std::string& text) {
  std::ifstream in(file);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number)
    if (line.find(text) != std::string::npos)
      return file.string() + ":" + std::to_string(number) + ":";
  FAIL("no line of " << file << " has " << text);
  return {};
}

}  // namespace

TEST_CASE("a library dropped in and a step added to the YAML run without a restart") {
  PluginFolder plugins;
  plugins.drop("probe_v1.so", "probe.so");
  Served s(sections(probe_step), {}, {"--watch-quiet", "1s"}, plugins.path());
  REQUIRE(call(s, "tests_Probe").status == 200);
  CHECK(call(s, "tests_Greet").status == 404);

  // Copied in the way cp does it, in two writes with a pause: one reload of the whole file.
  auto bytes = read_file(fs::path(RELOAD_PLUGIN_DIR) / "greet.so");
  {
    std::ofstream out(plugins.path() / "greet.so", std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size() / 2));
    out.flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    out.write(bytes.data() + bytes.size() / 2, std::streamsize(bytes.size() - bytes.size() / 2));
  }
  save(s, plugins, sections(probe_step + greet_step));

  REQUIRE(eventually([&] { return call(s, "tests_Greet").status == 200; }));
  auto greeted = call(s, "tests_Greet");
  CHECK(greeted.body.find("\"type\":\"Tests.Greet\"") != std::string::npos);
  CHECK(call(s, "tests_Probe").status == 200);
  CHECK(generation(s) >= 2);
  CHECK(metric(s, "stepline_registration_reloads_total{result=\"failed\"}") == 0);
  CHECK(metric(s, "stepline_plugin_loads_total{library=\"greet.so\",result=\"loaded\"}") == 1);
  // The half-copied library was never examined: no refusal of it.
  CHECK(s.output().find("greet.so: ") == std::string::npos);
}

TEST_CASE("a broken registration keeps the one in use, and the failure is logged and counted") {
  PluginFolder plugins;
  plugins.drop("probe_v1.so", "probe.so");
  Served s(sections(probe_step), {}, {"--watch-quiet", "300ms"}, plugins.path());
  auto first = generation(s);
  REQUIRE(first == 1);

  // A step with a stage that does not exist, and a handler naming no known type.
  save(s, plugins, sections(probe_step + R"(
  - name: Broken
    message: tests_Probe
    stage: sometime
    handler: {plugin: Tests.Probe}
)"));
  REQUIRE(eventually(
      [&] { return metric(s, "stepline_registration_reloads_total{result=\"failed\"}") == 1; }));
  auto log = s.output();
  CHECK(log.find(place_of(s.config(), "stage: sometime") + "12: error: stage: 'sometime'") !=
        std::string::npos);
  CHECK(log.find("the registration was not reloaded; generation 1 stays in use") !=
        std::string::npos);
  CHECK(generation(s) == 1);
  CHECK(metric(s, "stepline_registration_generation") == 1);
  CHECK(call(s, "tests_Probe").status == 200);

  // A step naming a type no library exports: refused as well, with the step's place.
  save(s, plugins, sections(probe_step + greet_step));
  REQUIRE(eventually(
      [&] { return metric(s, "stepline_registration_reloads_total{result=\"failed\"}") == 2; }));
  CHECK(s.output().find("Tests.Greet") != std::string::npos);
  CHECK(generation(s) == 1);
  CHECK(call(s, "tests_Greet").status == 404);

  // Fixed: the next save is taken.
  save(s, plugins,
       sections(probe_step + "\n  - name: Probe again\n    message: tests_Probe\n"
                             "    stage: post-operation\n"
                             "    handler: {plugin: Tests.Probe}\n"));
  REQUIRE(eventually([&] { return generation(s) == 2; }));
  CHECK(metric(s, "stepline_registration_reloads_total{result=\"succeeded\"}") == 1);
  CHECK(metric(s, "stepline_registration_generation") == 2);
}

TEST_CASE(
    "on SIGHUP an operation under way finishes on its generation and the old library "
    "unloads after it") {
  PluginFolder plugins;
  plugins.drop("probe_v1.so", "probe.so");
  auto unload_log = plugins.path() / "unloaded.log";
  Served s(sections(probe_step), {{"STEPLINE_TEST_UNLOAD_LOG", unload_log.string()}},
           {"--no-watch"}, plugins.path());
  // The scanning child also loads and unloads libraries: only the host's own lines count.
  auto unloaded_in_host = [&](const std::string& version) {
    return read_file(unload_log)
               .find("unloaded Tests.Probe " + version + " pid " + std::to_string(s.pid())) !=
           std::string::npos;
  };
  auto gate = s.folder() / "gate";
  auto in_flight = std::async(std::launch::async, [&] {
    return call(s, "tests_Probe", "{\"WaitFor\":\"" + gate.string() + "\"}");
  });
  REQUIRE(eventually([&] { return fs::exists(gate.string() + ".started"); }));

  plugins.drop("probe_v2.so", "probe.so");
  ::kill(s.pid(), SIGHUP);
  REQUIRE(eventually([&] { return generation(s) == 2; }));
  auto fresh = call(s, "tests_Probe");
  REQUIRE(fresh.status == 200);
  CHECK(fresh.body.find("\"version\":\"2.0.0\"") != std::string::npos);
  // Version 1 is still running the first operation: still loaded, its generation still held.
  CHECK(metric(s, "stepline_registration_generations_alive") == 2);
  CHECK_FALSE(unloaded_in_host("1.0.0"));

  std::ofstream(gate) << "open";
  auto finished = in_flight.get();
  REQUIRE(finished.status == 200);
  CHECK(finished.body.find("\"version\":\"1.0.0\"") != std::string::npos);
  // Its last instance gone, version 1's library is unloaded; version 2 stays.
  CHECK(eventually([&] {
    return metric(s, "stepline_registration_generations_alive") == 1 && unloaded_in_host("1.0.0");
  }));
  CHECK_FALSE(unloaded_in_host("2.0.0"));
  CHECK(s.output().find("reloading the registration (SIGHUP)") != std::string::npos);
  // The copy version 1 ran from is gone from the data folder; version 2's is there.
  int copies = 0;
  for (const auto& entry : fs::directory_iterator(s.folder() / "data" / "reloaded"))
    copies += entry.path().filename().string().rfind("probe.", 0) == 0;
  CHECK(copies == 1);
}

TEST_CASE("stepline reload asks the running host and prints what it did") {
  PluginFolder plugins;
  plugins.drop("probe_v1.so", "probe.so");
  plugins.drop("greet.so", "greet.so");
  Served s(sections(probe_step), {}, {"--no-watch"}, plugins.path());
  CHECK(call(s, "tests_Greet").status == 404);

  save(s, plugins, sections(probe_step + greet_step));
  auto reloaded = run_stepline({"reload", "-c", s.config().string()});
  CHECK(reloaded.status == 0);
  CHECK(reloaded.output.find("stepline serve (pid " + std::to_string(s.pid()) +
                             "): reloaded: registration generation 2 in use (sha256 ") !=
        std::string::npos);
  CHECK(call(s, "tests_Greet").status == 200);

  save(s, plugins, sections(probe_step + greet_step + "    rank: many\n"));
  auto refused = run_stepline({"reload", "-c", s.config().string()});
  CHECK(refused.status == 1);
  CHECK(refused.output.find("not reloaded: generation 2 stays in use") != std::string::npos);
  CHECK(refused.output.find(place_of(s.config(), "rank: many") + "11: error: ") !=
        std::string::npos);
  CHECK(metric(s, "stepline_registration_reloads_total{result=\"failed\"}") == 1);
  CHECK(call(s, "tests_Greet").status == 200);

  // Another registration, no host running it.
  TempDir other("stepline-reload-none-");
  std::ofstream(other.path() / "stepline.yaml") << "host:\n  data_folder: data\n";
  auto none = run_stepline({"reload", "-c", (other.path() / "stepline.yaml").string()});
  CHECK(none.status == 2);
  CHECK(none.output.find("no stepline serve of") != std::string::npos);
}

TEST_CASE("a library that crashes while loading is refused by the scan; the host stays up") {
  PluginFolder plugins;
  plugins.drop("probe_v1.so", "probe.so");
  Served s(sections(probe_step), {}, {"--watch-quiet", "300ms"}, plugins.path());

  plugins.drop("crash.so", "crash.so");
  REQUIRE(eventually([&] {
    return metric(s, "stepline_plugin_loads_total{library=\"crash.so\",result=\"refused\"}") == 1;
  }));
  CHECK(s.output().find("crash.so: crashed while loading") != std::string::npos);
  CHECK(s.request("GET", "/healthz").status == 200);
  CHECK(call(s, "tests_Probe").status == 200);

  // A step on its type is refused, with the refusal as the reason; the host runs on.
  save(s, plugins,
       sections(probe_step +
                "\n  - name: Crash\n    message: tests_Crash\n    stage: post-operation\n"
                "    handler: {plugin: Tests.Crash}\n"));
  REQUIRE(eventually(
      [&] { return metric(s, "stepline_registration_reloads_total{result=\"failed\"}") == 1; }));
  CHECK(s.output().find("note: refused ") != std::string::npos);
  CHECK(call(s, "tests_Crash").status == 404);
  CHECK(call(s, "tests_Probe").status == 200);
  CHECK(s.stop() == 0);
}

TEST_CASE("reloads while 2,000 operations run: none fails") {
  PluginFolder plugins;
  plugins.drop("probe_v1.so", "probe.so");
  Served s(sections(probe_step), {}, {"--watch-quiet", "200ms"}, plugins.path());
  constexpr int clients = 4, each = 500;
  std::atomic<int> done{0}, failed{0};
  std::vector<std::future<std::string>> runs;
  for (int c = 0; c < clients; ++c)
    runs.push_back(std::async(std::launch::async, [&] {
      std::string first_failure;
      HttpConnection connection(s.port());
      for (int i = 0; i < each; ++i) {
        auto r = connection.request("POST", "/api/data/v9.2/tests_Probe", "{}",
                                    {{"Content-Type", "application/json"}});
        if (r.status != 200) {
          ++failed;
          if (first_failure.empty()) first_failure = std::to_string(r.status) + " " + r.body;
        }
        ++done;
      }
      return first_failure;
    }));
  // While they run: a new library and step, a new version of the one in use, a SIGHUP.
  REQUIRE(eventually([&] { return done.load() >= 200; }));
  plugins.drop("greet.so", "greet.so");
  save(s, plugins, sections(probe_step + greet_step));
  REQUIRE(eventually([&] { return generation(s) >= 2 || done.load() == clients * each; }));
  plugins.drop("probe_v2.so", "probe.so");
  ::kill(s.pid(), SIGHUP);
  for (auto& run : runs) CHECK(run.get() == "");
  CHECK(failed.load() == 0);
  CHECK(done.load() == clients * each);
  CHECK(eventually([&] { return generation(s) >= 3; }));
  auto after = call(s, "tests_Probe");
  CHECK(after.body.find("\"version\":\"2.0.0\"") != std::string::npos);
  CHECK(call(s, "tests_Greet").status == 200);
}

TEST_CASE("a reload keeps the store it started with and says so without showing the URL") {
  TempDir folder("stepline-reload-store-");
  auto config = folder.path() / "stepline.yaml";
  auto write = [&](const std::string& store) {
    std::ofstream(config) << "host:\n  plugin_folder: " << SERVICE_PLUGIN_DIR
                          << "\n  data_folder: data\n  log_level: warn\n"
                          << store;
  };
  write("");
  stepline::host::ConfiguredHost host(config, {}, {.reloadable = true});
  ::setenv("STEPLINE_RELOAD_TEST_DATABASE_URL",
           "postgresql://stepline:s3cret-pw@127.0.0.1:1/stepline", 1);
  write("  store:\n    postgresql: \"${env:STEPLINE_RELOAD_TEST_DATABASE_URL}\"\n");
  auto result = host.reload();
  CAPTURE(result.errors);
  CAPTURE(result.warnings);
  CHECK(result.ok);
  auto said = [&](const std::string& text) {
    return std::any_of(result.warnings.begin(), result.warnings.end(),
                       [&](const std::string& w) { return w.find(text) != std::string::npos; });
  };
  CHECK(said("host.store changed from sqlite to postgresql"));
  CHECK(said("host.store's database URL changed"));
  CHECK_FALSE(said("s3cret-pw"));
  CHECK(host.host().pipeline().registration()->host.store.kind ==
        stepline::registration::StoreKind::sqlite);
  ::unsetenv("STEPLINE_RELOAD_TEST_DATABASE_URL");
}
