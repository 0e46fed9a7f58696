// What the pipeline costs. Each figure comes with a baseline measured in the same run:
//  - dispatching one synchronous step (a custom message with one pre-validation step that reads
//    an attribute) against a direct virtual call of the same plug-in on the same context;
//  - Update operations per second on the SQLite record store with three synchronous steps
//    (pre-validation, pre-operation, post-operation) against the same Updates with no steps.
// Compare the pairs as ratios: pipeline_dispatch_one_step / direct_virtual_call.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <stepline/host/pipeline.hpp>
#include <stepline/host/record_store.hpp>
#include <stepline/plugin.hpp>

namespace {

using namespace stepline;

/// Reads the revenue and keeps the result where the compiler cannot drop it.
class ReadRevenue : public Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext& context, Services&) override {
    const Entity* target = context.target();
    auto revenue = target ? target->get_as<Money>("revenue") : std::nullopt;
    benchmark::DoNotOptimize(revenue);
  }
};

class Factory : public host::PluginFactory {
 public:
  std::shared_ptr<Plugin> create(const std::string&, const std::string& u,
                                 const std::string& s) override {
    return std::make_shared<ReadRevenue>(u, s);
  }
};

class NoServices : public Services, public TracingService {
 public:
  TracingService& tracing() override { return *this; }
  OrganizationService& organization() override { std::abort(); }
  NotificationService& notification() override { std::abort(); }
  void write(std::string_view) override {}
};

registration::Step step(const std::string& name, const std::string& message, Stage stage) {
  registration::Step s;
  s.id = Guid::random();
  s.name = name;
  s.message = message;
  s.entity = "account";
  s.stage = stage;
  s.plugin_type = "Bench.ReadRevenue";
  return s;
}

Entity account() {
  Entity e("account");
  e.set("name", Value("Contoso"));
  e.set("revenue", Value(Money{Decimal("2000000.00")}));
  return e;
}

struct Folder {
  Folder() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "stepline-bench-XXXXXX").string();
    if (!mkdtemp(pattern.data())) std::abort();
    path = pattern;
  }
  ~Folder() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

void direct_virtual_call(benchmark::State& state) {
  ReadRevenue plugin("", "");
  Plugin& p = plugin;
  NoServices services;
  ExecutionContext context;
  context.message_name = "sample_Score";
  context.input_parameters.insert_or_assign("Target", Value(account()));
  for (auto _ : state) p.execute(context, services);
}
BENCHMARK(direct_virtual_call);

void pipeline_dispatch_one_step(benchmark::State& state) {
  Folder folder;
  Factory factory;
  host::RecordStore store(folder.path / "stepline.db");
  registration::Registration r;
  r.steps = {step("score", "sample_Score", Stage::pre_validation)};
  host::Pipeline pipeline(std::move(r), factory, store);
  host::OperationRequest request{.message = "sample_Score",
                                 .parameters = {{"Target", Value(account())}}};
  for (auto _ : state) {
    auto response = pipeline.execute(request);
    if (!response.ok()) state.SkipWithError(response.error_message.c_str());
  }
}
BENCHMARK(pipeline_dispatch_one_step);

void update_operations(benchmark::State& state, int steps) {
  Folder folder;
  Factory factory;
  host::RecordStore store(folder.path / "stepline.db");
  registration::Registration r;
  if (steps) {
    r.steps = {step("validate", "Update", Stage::pre_validation),
               step("prepare", "Update", Stage::pre_operation),
               step("follow up", "Update", Stage::post_operation)};
  }
  host::Pipeline pipeline(std::move(r), factory, store);
  Entity target = account();
  target.id = store.create(target);
  long long n = 0;
  for (auto _ : state) {
    target.set("numberofemployees", Value(static_cast<std::int32_t>(++n)));
    auto response =
        pipeline.execute({.message = "Update", .parameters = {{"Target", Value(target)}}});
    if (!response.ok()) state.SkipWithError(response.error_message.c_str());
  }
  state.counters["operations/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(update_operations, no_steps, 0)->UseRealTime();
BENCHMARK_CAPTURE(update_operations, three_sync_steps, 3)->UseRealTime();

/// The console report, plus each benchmark's CPU time per iteration kept for the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs)
      if (run.run_type == Run::RT_Iteration && !run.error_occurred)
        cpu_ns[run.benchmark_name()] = run.GetAdjustedCPUTime();
    ConsoleReporter::ReportRuns(runs);
  }
  void print_ratio(const char* label, const std::string& subject,
                   const std::string& baseline) const {
    auto s = cpu_ns.find(subject), b = cpu_ns.find(baseline);
    if (s == cpu_ns.end() || b == cpu_ns.end() || b->second <= 0) return;
    std::printf("%-58s %8.1fx  (%.0f ns vs %.0f ns CPU)\n", label, s->second / b->second, s->second,
                b->second);
  }
  std::map<std::string, double> cpu_ns;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\nratios (CPU time per operation):\n");
  reporter.print_ratio("one step through the pipeline / direct virtual call",
                       "pipeline_dispatch_one_step", "direct_virtual_call");
  reporter.print_ratio("Update with 3 sync steps / Update with no steps",
                       "update_operations/three_sync_steps/real_time",
                       "update_operations/no_steps/real_time");
  benchmark::Shutdown();
  return 0;
}
