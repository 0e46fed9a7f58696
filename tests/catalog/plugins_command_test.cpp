// `stepline plugins list`, run as a user runs it.
#include <fstream>

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <stepline/host/process/child_process.hpp>

#include "catalog_fixture.hpp"

using namespace stepline;
using namespace stepline::testing;

namespace {

fs::path write_registration(const TempFolder& folder, const std::string& pin) {
  const fs::path file = folder / "registration.yaml";
  std::ofstream(file) << "host:\n"
                         "  plugin_folder: plugins\n"
                         "  data_folder: data\n"
                         "plugins:\n"
                         "  - file: echo.so\n"
                         "    sha256: "
                      << pin << "\n";
  return file;
}

host::process::ChildResult list(const fs::path& registration, bool json) {
  std::vector<std::string> argv{stepline_executable().string(), "plugins", "list", "-c",
                                registration.string()};
  if (json) argv.push_back("--json");
  return host::process::run_child(argv, std::chrono::seconds(30));
}

}  // namespace

TEST_CASE("`stepline plugins list` shows every library with its status, types and reasons") {
  TempFolder folder;
  plugin_folder_with(folder, {"echo", "not_a_plugin"});
  const fs::path registration = write_registration(folder, std::string(64, 'a'));

  const auto text = list(registration, false);
  REQUIRE(text.succeeded());
  CHECK(text.out.find("refused  " + (folder / "plugins" / "echo.so").string()) !=
        std::string::npos);
  CHECK(text.out.find("pins " + std::string(64, 'a') + " (at " + registration.string() + ":5:5)") !=
        std::string::npos);
  CHECK(text.out.find("not a Stepline plug-in") != std::string::npos);

  // The right pin: echo loads; its types are listed; the scan is remembered in the data folder.
  host::catalog::PluginCatalog probe(settings_for(folder / "plugins"));
  write_registration(folder, library_named(probe, "echo.so").sha256);
  const auto json = list(registration, true);
  REQUIRE(json.succeeded());
  rapidjson::Document doc;
  doc.Parse(json.out.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  const auto& libraries = doc["libraries"];
  REQUIRE(libraries.Size() == 2);
  CHECK(std::string(libraries[0]["file"].GetString()) == (folder / "plugins" / "echo.so").string());
  CHECK(std::string(libraries[0]["status"].GetString()) == "loaded");
  CHECK(std::string(libraries[0]["types"][0]["name"].GetString()) == "Tests.Echo");
  CHECK(std::string(libraries[0]["types"][0]["version"].GetString()) == "1.0.0");
  CHECK(std::string(libraries[1]["status"].GetString()) == "refused");
  CHECK(libraries[1].HasMember("reason"));
  CHECK(fs::exists(folder / "data" / "plugin-scan-cache.json"));
}

TEST_CASE(
    "`stepline plugins list` on a registration whose plug-in folder is missing fails with 2") {
  TempFolder folder;
  const fs::path registration = write_registration(folder, std::string(64, 'a'));
  const auto result = list(registration, false);
  CHECK(result.exit_code == 2);
  CHECK(result.err.find((folder / "plugins").string()) != std::string::npos);
}
