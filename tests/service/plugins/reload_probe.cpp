// The library the reload tests drop into a running host's plug-in folder. One source, built as
// several libraries: two versions of Tests.Probe (which say when their code is unloaded), a
// second type, Tests.Greet, and one that crashes while loading.
//
// Tests.Probe answers a custom message with its library's version. With the input WaitFor (a
// file path) it first writes WaitFor.started and holds the operation until that file exists, so
// a test can keep an operation running across a reload. When the library is unloaded, it appends
// "unloaded VERSION" to the file STEPLINE_TEST_UNLOAD_LOG names.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <stepline/plugin.hpp>

#ifndef PROBE_TYPE
#define PROBE_TYPE "Tests.Probe"
#endif
#ifndef PROBE_VERSION
#define PROBE_VERSION "1.0.0"
#endif

namespace {

#ifdef PROBE_CRASH_WHILE_LOADING
[[maybe_unused]] const int crash_on_load = (std::abort(), 0);
#endif

__attribute__((destructor)) void say_unloaded() {
  const char* log = ::getenv("STEPLINE_TEST_UNLOAD_LOG");
  if (!log) return;
  if (FILE* f = ::fopen(log, "a")) {
    ::fprintf(f, "unloaded %s %s pid %d\n", PROBE_TYPE, PROBE_VERSION, int(::getpid()));
    ::fclose(f);
  }
}

class Probe : public stepline::Plugin {
 public:
  using Plugin::Plugin;
  void execute(stepline::ExecutionContext& context, stepline::Services&) override {
    if (auto it = context.input_parameters.find("WaitFor"); it != context.input_parameters.end()) {
      std::filesystem::path gate = it->second.as<std::string>();
      std::ofstream(gate.string() + ".started") << PROBE_VERSION;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
      while (!std::filesystem::exists(gate) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    context.output_parameters.insert_or_assign("type", stepline::Value(std::string(PROBE_TYPE)));
    context.output_parameters.insert_or_assign("version",
                                               stepline::Value(std::string(PROBE_VERSION)));
  }
};

}  // namespace

STEPLINE_PLUGIN(Probe, PROBE_TYPE, PROBE_VERSION)
