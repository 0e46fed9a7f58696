// What the pipeline costs. Each figure comes with a baseline measured in the same run:
//  - dispatching one synchronous step (a custom message with one pre-validation step that reads
//    an attribute) against a direct virtual call of the same plug-in on the same context;
//  - Update operations per second on the SQLite record store with three synchronous steps
//    (pre-validation, pre-operation, post-operation) against the same Updates with no steps;
//  - loading a registration of 230,000 steps (50 MB of YAML, written by the benchmark) against
//    the same steps built in C++: the memory per step (peak RSS over that of a process that
//    loads an empty registration) and the time per step, each side in a child process of its
//    own (--registration-steps N for another size, 0 to skip).
// Compare the pairs as ratios: pipeline_dispatch_one_step / direct_virtual_call.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <stepline/host/pipeline/pipeline.hpp>
#include <stepline/host/store/sqlite_record_store.hpp>
#include <stepline/plugin.hpp>
#include <stepline/registration/load.hpp>
#include <stepline/registration/values.hpp>

#include "child_run.hpp"

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

class Factory : public host::pipeline::PluginFactory {
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
  host::store::SqliteRecordStore store(folder.path / "stepline.db");
  registration::Registration r;
  r.steps = {step("score", "sample_Score", Stage::pre_validation)};
  host::pipeline::Pipeline pipeline(std::move(r), factory, store);
  host::pipeline::OperationRequest request{.message = "sample_Score",
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
  host::store::SqliteRecordStore store(folder.path / "stepline.db");
  registration::Registration r;
  if (steps) {
    r.steps = {step("validate", "Update", Stage::pre_validation),
               step("prepare", "Update", Stage::pre_operation),
               step("follow up", "Update", Stage::post_operation)};
  }
  host::pipeline::Pipeline pipeline(std::move(r), factory, store);
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

// --- loading a large registration ------------------------------------------------------------

/// Step `i` of the large registration, as the YAML below spells it.
registration::Step numbered_step(long i, const std::string& file, int line) {
  registration::Step s;
  s.name = "Step " + std::to_string(1000000 + i).substr(1) + " on account";
  s.id = registration::step_id_from_name(s.name);
  s.message = "Update";
  s.entity = "account";
  s.stage = Stage::post_operation;
  s.mode = Mode::asynchronous;
  s.rank = static_cast<int>(i % 10);
  s.filtering_attributes = {"name", "revenue"};
  s.plugin_type = "Samples.SetAccountTier";
  s.where = {file, line, 5};
  s.handler_where = {file, line + 7, 24};
  return s;
}

/// Writes a registration of `steps` steps to `path`: the generator of the benchmark's input.
void write_registration(const std::filesystem::path& path, long steps) {
  std::ofstream out(path);
  out << "host:\n  data_folder: data\nsteps:\n";
  for (long i = 1; i <= steps; ++i) {
    auto s = numbered_step(i, "", 0);
    out << "  - name: " << s.name << "\n    message: Update\n    entity: account\n"
        << "    stage: post-operation\n    mode: async\n    rank: " << s.rank
        << "\n    filtering_attributes: [name, revenue]\n"
        << "    handler: {plugin: Samples.SetAccountTier}\n";
  }
}

/// The child side: loads `file` (`yaml`), or builds as many steps in C++ (`model`), and prints
/// its result line.
int registration_child(const std::string& mode, const std::string& file, long steps) {
  const double cpu_before = bench::cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  registration::Registration r;
  if (mode == "yaml") {
    auto result = registration::read(file);
    if (result.has_errors()) {
      std::fprintf(stderr, "%s\n", registration::RegistrationError(result.problems).what());
      return 1;
    }
    r = std::move(result.registration);
  } else {
    for (long i = 1; i <= steps; ++i) r.steps.push_back(numbered_step(i, file, 4 + 8 * (i - 1)));
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  bench::print_result(took.count(), static_cast<long>(r.steps.size()), {}, cpu_before);
  return 0;
}

/// Memory and time per step of loading `steps` steps from YAML against building them in C++.
void compare_registration_load(const char* self, long steps) {
  Folder folder;
  const auto big = folder.path / "stepline.yaml", empty = folder.path / "empty.yaml";
  write_registration(big, steps);
  write_registration(empty, 0);
  auto child = [&](const std::string& mode, const std::filesystem::path& file, long n) {
    return bench::run_child({self, "--registration-child", mode, file.string(), std::to_string(n)},
                            mode + "-" + std::to_string(n), folder.path);
  };
  const auto base = child("yaml", empty, 0);
  const auto yaml = child("yaml", big, steps);
  const auto model = child("model", big, steps);
  auto per_step = [&](const bench::ChildResult& r) {
    return (r.rss_kib - base.rss_kib) * 1024.0 / static_cast<double>(steps);
  };
  std::printf("\nloading a registration of %ld steps (%.1f MB of YAML, %.0f bytes per step):\n",
              steps, std::filesystem::file_size(big) / 1e6,
              std::filesystem::file_size(big) / static_cast<double>(steps));
  auto row = [&](const char* label, const bench::ChildResult& r) {
    std::printf("  %-26s peak RSS %6.1f MiB  %5.0f bytes/step  %6.2f s  %5.2f us/step\n", label,
                r.rss_kib / 1024.0, per_step(r), r.seconds, r.seconds * 1e6 / steps);
  };
  row("from YAML", yaml);
  row("built in C++ (baseline)", model);
  row("empty registration", base);
  std::printf("%-58s %8.2fx\n", "memory per step, from YAML / built in C++",
              per_step(yaml) / per_step(model));
  std::printf("%-58s %8.2fx\n", "time per step, from YAML / built in C++",
              yaml.seconds / model.seconds);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "--registration-child") == 0)
    return registration_child(argv[2], argv[3], std::atol(argv[4]));
  long registration_steps = 230000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--registration-steps=", 21) != 0) continue;
    registration_steps = std::atol(argv[i] + 21);
    for (int k = i; k + 1 < argc; ++k) argv[k] = argv[k + 1];
    --argc;
    break;
  }
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
  if (registration_steps > 0) compare_registration_load(argv[0], registration_steps);
  benchmark::Shutdown();
  return 0;
}
