#include <signal.h>

#include <algorithm>

#include <doctest/doctest.h>

#include <stepline/fingerprint.hpp>
#include <stepline/host/catalog/plugin_catalog.hpp>
#include <stepline/host/process/child_process.hpp>

#include "catalog_fixture.hpp"

using namespace stepline;
using namespace stepline::testing;
using host::catalog::LibraryStatus;
using host::catalog::PluginCatalog;

namespace {

// Puts `source` at `target` the way a deployment should: a new file renamed over the old one,
// never rewriting a file some process may have mapped.
void replace_file(const fs::path& source, const fs::path& target) {
  const fs::path next = target.string() + ".new";
  fs::copy_file(source, next, fs::copy_options::overwrite_existing);
  fs::rename(next, target);
}

std::string run_echo(const std::shared_ptr<Plugin>& plugin, TestServices& services) {
  ExecutionContext context;
  context.message_name = "Create";
  plugin->execute(context, services);
  return context.output_parameters.at("version").as<std::string>();
}

}  // namespace

TEST_CASE("a well-behaved library is examined, loaded and creates plug-ins that run") {
  TempFolder folder;
  PluginCatalog catalog(settings_for(plugin_folder_with(folder, {"echo"})));

  const auto& echo = library_named(catalog, "echo.so");
  CHECK(echo.status == LibraryStatus::loaded);
  CHECK(echo.reason.empty());
  REQUIRE(echo.description);
  CHECK(echo.description->fingerprint == STEPLINE_BUILD_FINGERPRINT);
  CHECK(echo.sha256.size() == 64);
  REQUIRE(catalog.types().size() == 1);
  CHECK(catalog.types()[0].name == "Tests.Echo");
  CHECK(catalog.types()[0].version == "1.0.0");
  CHECK(catalog.has_type("Tests.Echo"));
  CHECK_FALSE(catalog.has_type("Tests.Missing"));

  auto plugin = catalog.create("Tests.Echo", "hello", "secret");
  REQUIRE(plugin);
  CHECK(plugin->unsecure_configuration() == "hello");
  CHECK(plugin->secure_configuration() == "secret");
  TestServices services;
  ExecutionContext context;
  plugin->execute(context, services);
  CHECK(context.output_parameters.at("configuration").as<std::string>() == "hello");
  CHECK(services.traces() == std::vector<std::string>{"Tests.Echo 1.0.0 ran"});
}

TEST_CASE("a plug-in instance keeps its library loaded after the catalog is gone") {
  TempFolder folder;
  const fs::path plugins = plugin_folder_with(folder, {"echo"});
  std::shared_ptr<Plugin> plugin;
  fs::path loaded;
  {
    PluginCatalog catalog(settings_for(plugins));
    loaded = library_named(catalog, "echo.so").loaded_from;
    plugin = catalog.create("Tests.Echo", "", "");
  }
  CHECK(process_maps(loaded));
  TestServices services;
  CHECK(run_echo(plugin, services) == "1.0.0");

  // Its destroy runs first, then the last reference goes; built with -fno-gnu-unique, the
  // library really unloads.
  plugin.reset();
  CHECK_FALSE(process_maps(loaded));
}

TEST_CASE("a library that aborts while loading is reported with the signal and skipped") {
  TempFolder folder;
  PluginCatalog catalog(settings_for(plugin_folder_with(folder, {"echo", "aborts_while_loading"})));

  const auto& bad = library_named(catalog, "aborts_while_loading.so");
  CHECK(bad.status == LibraryStatus::refused);
  CHECK(bad.reason.find(bad.file.string()) != std::string::npos);
  CHECK(bad.reason.find("crashed while loading") != std::string::npos);
  CHECK(bad.reason.find("SIGABRT") != std::string::npos);
  CHECK(library_named(catalog, "echo.so").status == LibraryStatus::loaded);
  CHECK(catalog.has_type("Tests.Echo"));
}

TEST_CASE("a library that hangs while loading is stopped at the deadline and skipped") {
  TempFolder folder;
  const fs::path plugins = plugin_folder_with(folder, {"echo"});
  auto settings = settings_for(plugins, folder / "data");
  PluginCatalog{settings};  // examines echo.so with time to spare and remembers it
  fs::copy_file(test_plugin("hangs_while_loading"), plugins / "hangs_while_loading.so");
  settings.scan_timeout = std::chrono::milliseconds(1500);
  PluginCatalog catalog(settings);

  const auto& bad = library_named(catalog, "hangs_while_loading.so");
  CHECK(bad.status == LibraryStatus::refused);
  CHECK(bad.reason.find(bad.file.string()) != std::string::npos);
  CHECK(bad.reason.find("did not finish loading within 1.5 s") != std::string::npos);
  CHECK(library_named(catalog, "echo.so").status == LibraryStatus::loaded);
}

TEST_CASE("`stepline plugins scan` on a library that aborts ends with a message naming it") {
  const fs::path library = test_plugin("aborts_while_loading");
  const auto child = host::process::run_child(
      {stepline_executable().string(), "plugins", "scan", library.string()},
      std::chrono::seconds(20));
  CHECK_FALSE(child.timed_out);
  CHECK_FALSE(child.succeeded());
  CHECK(child.signal == SIGABRT);
  CHECK(child.out.empty());
  CHECK(child.err.find(library.string()) != std::string::npos);
  CHECK(child.err.find("was stopped while loading (SIGABRT)") != std::string::npos);
}

TEST_CASE("`stepline plugins scan` prints the descriptor of a good library as JSON") {
  const auto child = host::process::run_child(
      {stepline_executable().string(), "plugins", "scan", test_plugin("echo").string()},
      std::chrono::seconds(20));
  REQUIRE(child.succeeded());
  const auto description = host::catalog::library_description_from_json(child.out);
  CHECK(description.abi_major == STEPLINE_ABI_MAJOR);
  CHECK(description.sdk_version == STEPLINE_SDK_VERSION);
  CHECK(description.fingerprint == STEPLINE_BUILD_FINGERPRINT);
  REQUIRE(description.types.size() == 1);
  CHECK(description.types[0] == host::catalog::PluginTypeDescription{"Tests.Echo", "1.0.0"});
}

TEST_CASE("scanner output nested too deep is refused as not JSON, not followed down the stack") {
  const std::string deep =
      R"({"abi_major":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  CHECK_THROWS_WITH_AS(host::catalog::library_description_from_json(deep),
                       doctest::Contains("the scanner's output is not JSON: "
                                         "abi_major[0][0][0][0][0][0][0][0][0][0][0]…: nested "
                                         "more than 256 levels deep"),
                       std::runtime_error);
}

TEST_CASE("a library built for another ABI major is refused naming both versions") {
  TempFolder folder;
  PluginCatalog catalog(settings_for(plugin_folder_with(folder, {"abi_99"})));
  const auto& bad = library_named(catalog, "abi_99.so");
  CHECK(bad.status == LibraryStatus::refused);
  CHECK(bad.reason.find(bad.file.string()) != std::string::npos);
  CHECK(bad.reason.find("plug-in ABI 99.0") != std::string::npos);
  CHECK(bad.reason.find("this host speaks ABI 1.0") != std::string::npos);
  CHECK(catalog.types().empty());
}

TEST_CASE("a library built for a newer ABI minor than the host's is refused") {
  TempFolder folder;
  PluginCatalog catalog(settings_for(plugin_folder_with(folder, {"abi_minor_newer"})));
  const auto& bad = library_named(catalog, "abi_minor_newer.so");
  CHECK(bad.status == LibraryStatus::refused);
  CHECK(bad.reason.find(bad.file.string()) != std::string::npos);
  CHECK(bad.reason.find("ABI 1.7, newer than this host's ABI 1.0") != std::string::npos);
}

TEST_CASE("a library built with another toolchain is refused naming both fingerprints") {
  TempFolder folder;
  PluginCatalog catalog(settings_for(plugin_folder_with(folder, {"foreign_toolchain"})));
  const auto& bad = library_named(catalog, "foreign_toolchain.so");
  CHECK(bad.status == LibraryStatus::refused);
  CHECK(bad.reason.find(bad.file.string()) != std::string::npos);
  CHECK(bad.reason.find("gcc-4.8;libstdc++-20130531-cxx11abi0;std-201103L;boost-1_55") !=
        std::string::npos);
  CHECK(bad.reason.find(STEPLINE_BUILD_FINGERPRINT) != std::string::npos);
}

TEST_CASE("of two libraries providing the same type, the second is refused naming both files") {
  TempFolder folder;
  PluginCatalog catalog(settings_for(plugin_folder_with(folder, {"echo", "echo_twin"})));
  const auto& first = library_named(catalog, "echo.so");
  const auto& twin = library_named(catalog, "echo_twin.so");
  CHECK(first.status == LibraryStatus::loaded);
  CHECK(twin.status == LibraryStatus::refused);
  CHECK(twin.reason.find("'Tests.Echo'") != std::string::npos);
  CHECK(twin.reason.find(twin.file.string()) != std::string::npos);
  CHECK(twin.reason.find(first.file.string()) != std::string::npos);
  REQUIRE(catalog.types().size() == 1);
  CHECK(catalog.types()[0].library == first.file);
}

TEST_CASE("a sha256 pin decides whether a listed library loads") {
  TempFolder folder;
  auto settings = settings_for(plugin_folder_with(folder, {"echo"}));
  const std::string wrong(64, '0');
  settings.plugins.push_back({"echo.so", wrong, {"registration.yaml", 7, 5}});

  SUBCASE("a pin that does not match refuses it, showing both hashes and the entry") {
    PluginCatalog catalog(settings);
    const auto& echo = library_named(catalog, "echo.so");
    CHECK(echo.status == LibraryStatus::refused);
    REQUIRE(echo.sha256.size() == 64);
    CHECK(echo.reason.find(echo.file.string()) != std::string::npos);
    CHECK(echo.reason.find("its SHA-256 is " + echo.sha256) != std::string::npos);
    CHECK(echo.reason.find("pins " + wrong) != std::string::npos);
    CHECK(echo.reason.find("registration.yaml:7:5") != std::string::npos);
    CHECK_FALSE(catalog.has_type("Tests.Echo"));
  }
  SUBCASE("the right pin, in upper case, loads it") {
    std::string actual = PluginCatalog(settings).libraries().at(0).sha256;
    std::transform(actual.begin(), actual.end(), actual.begin(), ::toupper);
    settings.plugins[0].sha256 = actual;
    PluginCatalog catalog(settings);
    CHECK(library_named(catalog, "echo.so").status == LibraryStatus::loaded);
  }
}

TEST_CASE("a library anyone may overwrite is refused") {
  TempFolder folder;
  const fs::path plugins = plugin_folder_with(folder, {"echo"});

  SUBCASE("the file is world-writable") {
    fs::permissions(plugins / "echo.so", fs::perms::others_write, fs::perm_options::add);
    PluginCatalog catalog(settings_for(plugins));
    const auto& echo = library_named(catalog, "echo.so");
    CHECK(echo.status == LibraryStatus::refused);
    CHECK(echo.reason.find(echo.file.string()) != std::string::npos);
    CHECK(echo.reason.find("writable by every user (mode 0757") != std::string::npos);
  }
  SUBCASE("its folder is world-writable") {
    fs::permissions(plugins, fs::perms::others_write | fs::perms::others_exec,
                    fs::perm_options::add);
    PluginCatalog catalog(settings_for(plugins));
    const auto& echo = library_named(catalog, "echo.so");
    CHECK(echo.status == LibraryStatus::refused);
    CHECK(echo.reason.find("its folder " + plugins.string()) != std::string::npos);
  }
}

TEST_CASE("a shared library that is not a Stepline plug-in is refused as such") {
  TempFolder folder;
  PluginCatalog catalog(settings_for(plugin_folder_with(folder, {"not_a_plugin", "echo"})));
  const auto& other = library_named(catalog, "not_a_plugin.so");
  CHECK(other.status == LibraryStatus::refused);
  CHECK(other.reason.find(other.file.string()) != std::string::npos);
  CHECK(other.reason.find("not a Stepline plug-in") != std::string::npos);
  CHECK(library_named(catalog, "echo.so").status == LibraryStatus::loaded);
}

TEST_CASE("an unchanged library is examined once; a changed one again") {
  TempFolder folder;
  const fs::path plugins = plugin_folder_with(folder, {"echo", "aborts_while_loading"});
  const auto settings = settings_for(plugins, folder / "data");
  {
    PluginCatalog first(settings);
    CHECK_FALSE(library_named(first, "echo.so").from_scan_cache);
    CHECK_FALSE(library_named(first, "aborts_while_loading.so").from_scan_cache);
  }
  CHECK(fs::exists(folder / "data" / "plugin-scan-cache.json"));
  {
    auto no_scanner = settings;
    no_scanner.scanner = folder / "no-such-scanner";  // proves nothing is examined again
    PluginCatalog second(no_scanner);
    CHECK(library_named(second, "echo.so").from_scan_cache);
    CHECK(library_named(second, "echo.so").status == LibraryStatus::loaded);
    const auto& bad = library_named(second, "aborts_while_loading.so");
    CHECK(bad.from_scan_cache);
    CHECK(bad.status == LibraryStatus::refused);
    CHECK(bad.reason.find("SIGABRT") != std::string::npos);
  }
  replace_file(test_plugin("echo_v2"), plugins / "echo.so");
  PluginCatalog third(settings);
  CHECK_FALSE(library_named(third, "echo.so").from_scan_cache);
  CHECK(third.types().at(0).version == "2.0.0");
}

TEST_CASE("a scan cache nested too deep is ignored and every library is examined again") {
  TempFolder folder;
  const fs::path plugins = plugin_folder_with(folder, {"echo"});
  fs::create_directories(folder / "data");
  std::ofstream(folder / "data" / "plugin-scan-cache.json")
      << R"({"format":1,"libraries":)" << std::string(100000, '[') << std::string(100000, ']')
      << "}";
  PluginCatalog catalog(settings_for(plugins, folder / "data"));
  CHECK_FALSE(library_named(catalog, "echo.so").from_scan_cache);
  CHECK(library_named(catalog, "echo.so").status == LibraryStatus::loaded);
}

TEST_CASE(
    "listed libraries: one outside the folder loads, a missing one is refused with its entry") {
  TempFolder folder;
  const fs::path plugins = plugin_folder_with(folder, {});
  auto settings = settings_for(plugins);
  fs::create_directories(folder / "elsewhere");
  fs::copy_file(test_plugin("echo"), folder / "elsewhere" / "echo.so");
  settings.plugins.push_back({folder / "elsewhere" / "echo.so", std::nullopt, {"r.yaml", 3, 3}});
  settings.plugins.push_back({"gone.so", std::nullopt, {"r.yaml", 4, 3}});
  PluginCatalog catalog(settings);

  CHECK(library_named(catalog, "echo.so").status == LibraryStatus::loaded);
  const auto& gone = library_named(catalog, "gone.so");
  CHECK(gone.status == LibraryStatus::refused);
  CHECK(gone.reason.find((plugins / "gone.so").string() + ": not found (listed at r.yaml:4:3)") !=
        std::string::npos);
}

TEST_CASE("a missing plug-in folder is a configuration error naming it") {
  TempFolder folder;
  try {
    PluginCatalog catalog(settings_for(folder / "nowhere"));
    FAIL("a missing plug-in folder was accepted");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find((folder / "nowhere").string()) != std::string::npos);
  }
}

TEST_CASE("creating a plug-in: unknown types and failing constructors throw with the reason") {
  TempFolder folder;
  PluginCatalog catalog(settings_for(plugin_folder_with(folder, {"echo"})));
  CHECK_THROWS_AS(catalog.create("Tests.Missing", "", ""), std::out_of_range);
  CHECK_THROWS_WITH(catalog.create("Tests.Echo", "fail", ""),
                    doctest::Contains("the configuration 'fail' is refused"));
}

TEST_CASE("a changed library reloads side by side while instances of the old one keep running") {
  TempFolder folder;
  const fs::path plugins = plugin_folder_with(folder, {"echo"});
  const auto settings = settings_for(plugins, folder / "data");
  TestServices services;

  auto old_catalog = std::make_unique<PluginCatalog>(settings);
  auto old_instance = old_catalog->create("Tests.Echo", "", "");
  replace_file(test_plugin("echo_v2"), plugins / "echo.so");

  auto new_catalog = std::make_unique<PluginCatalog>(settings, *old_catalog);
  const auto& reloaded = library_named(*new_catalog, "echo.so");
  REQUIRE(reloaded.status == LibraryStatus::loaded);
  CHECK(reloaded.loaded_from.parent_path() == folder / "data" / "reloaded");
  CHECK(reloaded.loaded_from.filename() == "echo." + reloaded.sha256.substr(0, 16) + ".so");
  auto new_instance = new_catalog->create("Tests.Echo", "", "");
  old_catalog.reset();

  CHECK(run_echo(old_instance, services) == "1.0.0");
  CHECK(run_echo(new_instance, services) == "2.0.0");

  SUBCASE("reloading again without a change shares the loaded library") {
    PluginCatalog again(settings, *new_catalog);
    CHECK(library_named(again, "echo.so").loaded_from == reloaded.loaded_from);
  }
}

TEST_CASE("a library replaced while its old version is still loaded is never mistaken for it") {
  TempFolder folder;
  const fs::path plugins = plugin_folder_with(folder, {"echo"});
  TestServices services;
  PluginCatalog first(settings_for(plugins));
  auto old_instance = first.create("Tests.Echo", "", "");
  replace_file(test_plugin("echo_v2"), plugins / "echo.so");

  // No previous catalog given: the catalog sees the path is open and loads a copy.
  PluginCatalog second(settings_for(plugins, folder / "data"));
  const auto& echo = library_named(second, "echo.so");
  REQUIRE(echo.status == LibraryStatus::loaded);
  CHECK(echo.loaded_from.parent_path() == folder / "data" / "reloaded");
  CHECK(run_echo(second.create("Tests.Echo", "", ""), services) == "2.0.0");
  CHECK(run_echo(old_instance, services) == "1.0.0");
}

TEST_CASE("a stripped library, as distribution packages ship them, is still recognised") {
  TempFolder folder;
  const fs::path plugins = plugin_folder_with(folder, {"echo"});
  const auto strip = host::process::run_child(
      {"/usr/bin/strip", "--strip-unneeded", (plugins / "echo.so").string()},
      std::chrono::seconds(30));
  REQUIRE(strip.succeeded());
  PluginCatalog catalog(settings_for(plugins));
  CHECK(library_named(catalog, "echo.so").status == LibraryStatus::loaded);
  CHECK(catalog.has_type("Tests.Echo"));
}
