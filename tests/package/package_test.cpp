#include <doctest/doctest.h>

#include <stepline/host/child_process.hpp>
#include <stepline/host/plugin_catalog.hpp>

#include "catalog_fixture.hpp"

using namespace stepline;
using namespace stepline::testing;

namespace {

// Runs a build step; its output is shown when it fails.
void run(const std::vector<std::string>& argv) {
  const auto child = host::run_child(argv, std::chrono::minutes(3));
  INFO(argv[1], " ", argv[2], "\n", child.out, child.err);
  REQUIRE(child.succeeded());
}

}  // namespace

TEST_CASE("an out-of-tree plug-in builds against the installed SDK package and runs in the host") {
  TempFolder folder;
  const fs::path prefix = folder / "prefix";
  const fs::path build = folder / "hello-build";

  run({CMAKE_COMMAND, "--install", STEPLINE_BINARY_DIR, "--component", "sdk", "--prefix",
       prefix.string()});
  CHECK(fs::exists(prefix / "lib" / "cmake" / "Stepline" / "SteplineConfig.cmake"));
  CHECK(fs::exists(prefix / "include" / "stepline" / "plugin.hpp"));
  run({CMAKE_COMMAND, "-S", HELLO_SOURCE_DIR, "-B", build.string(), "-G", CMAKE_GENERATOR,
       "-DCMAKE_MAKE_PROGRAM=" CMAKE_MAKE_PROGRAM, "-DCMAKE_PREFIX_PATH=" + prefix.string()});
  run({CMAKE_COMMAND, "--build", build.string()});
  REQUIRE(fs::exists(build / "hello.so"));

  std::shared_ptr<Plugin> hello;
  fs::path loaded;
  {
    host::PluginCatalog catalog(settings_for(build));
    REQUIRE(catalog.libraries().size() == 1);
    const auto& library = catalog.libraries()[0];
    INFO(library.reason);
    REQUIRE(library.status == host::LibraryStatus::loaded);
    loaded = library.loaded_from;
    hello = catalog.create("Samples.Hello", "", "");
  }
  ExecutionContext context;
  context.message_name = "Create";
  context.primary_entity_name = "account";
  context.primary_entity_id = Guid::parse("6f1c1e3a-2b4d-4c5e-8f90-a1b2c3d4e5f6");
  TestServices services;
  hello->execute(context, services);
  CHECK(services.traces() ==
        std::vector<std::string>{"Create of account 6f1c1e3a-2b4d-4c5e-8f90-a1b2c3d4e5f6"});

  // stepline_add_plugin applied -fno-gnu-unique and the version script: the library unloads.
  hello.reset();
  CHECK_FALSE(process_maps(loaded));
}
