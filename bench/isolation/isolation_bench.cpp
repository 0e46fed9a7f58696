// What `isolation: process` costs: one synchronous step (a custom message with one
// pre-validation step that reads and writes a Target attribute) run in a worker process, against
// the same plug-in from the same library run in the host process. Compare as a ratio:
// isolated_step / in_process_step. The worker is started before timing (it is reused).
// Measured on a shared 2-core machine under load: in process 1.1 µs, isolated 78 µs wall (12 µs
// of host CPU), a ratio of about 70; the difference is two socket round trips' scheduling and the
// context written and read as JSON on both sides.
#include <benchmark/benchmark.h>

#include <stdlib.h>

#include <filesystem>
#include <memory>

#include <stepline/host/catalog/plugin_catalog.hpp>
#include <stepline/host/isolation/isolated_plugin.hpp>
#include <stepline/host/pipeline/pipeline.hpp>
#include <stepline/host/store/sqlite_record_store.hpp>

namespace {

namespace fs = std::filesystem;
using namespace stepline;

struct Rig {
  explicit Rig(IsolationMode isolation) {
    std::string pattern = (fs::temp_directory_path() / "stepline-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) std::abort();
    folder = pattern;
    host::catalog::CatalogSettings settings;
    settings.plugins.push_back({fs::path(BENCH_PLUGIN), std::nullopt, {}});
    settings.scanner = fs::path(STEPLINE_PROGRAM);
    catalog = std::make_unique<host::catalog::PluginCatalog>(settings);
    factory = std::make_unique<host::isolation::CatalogPlugins>(*catalog);
    store = std::make_unique<host::store::SqliteRecordStore>(folder / "stepline.db");
    registration::Registration r;
    registration::Step s;
    s.id = Guid::random();
    s.name = "stamp";
    s.message = "Ping";
    s.entity = "account";
    s.stage = Stage::pre_validation;
    s.plugin_type = "Bench.Stamp";
    s.isolation = isolation;
    r.steps.push_back(s);
    pipeline = std::make_unique<host::pipeline::Pipeline>(std::move(r), *factory, *store);
  }
  ~Rig() {
    pipeline.reset();
    std::error_code ec;
    fs::remove_all(folder, ec);
  }

  void ping(benchmark::State& state) {
    Entity target("account", Guid::random());
    target.set("name", Value("Contoso"));
    target.set("n", Value(1));
    host::pipeline::OperationRequest request;
    request.message = "Ping";
    request.parameters = {{"Target", Value(target)}};
    if (!pipeline->execute(request).ok()) state.SkipWithError("the warm-up operation failed");
    for (auto _ : state) {
      auto response = pipeline->execute(request);
      benchmark::DoNotOptimize(response);
    }
  }

  fs::path folder;
  std::unique_ptr<host::catalog::PluginCatalog> catalog;
  std::unique_ptr<host::isolation::CatalogPlugins> factory;
  std::unique_ptr<host::store::RecordStore> store;
  std::unique_ptr<host::pipeline::Pipeline> pipeline;
};

void in_process_step(benchmark::State& state) {
  Rig(IsolationMode::none).ping(state);
}
void isolated_step(benchmark::State& state) {
  Rig(IsolationMode::process).ping(state);
}

BENCHMARK(in_process_step);
BENCHMARK(isolated_step);

}  // namespace

BENCHMARK_MAIN();
