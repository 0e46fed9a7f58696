// `stepline validate FILE`: reads a registration and its includes and prints every problem as
// file:line:col: error|warning: message. Exit 2 when there is an error, 0 otherwise.
#include <iostream>
#include <memory>
#include <string>

#include <stepline/host/catalog/plugin_catalog.hpp>
#include <stepline/registration/load.hpp>

#include "command.hpp"

namespace stepline::cli {
namespace {

std::string count(std::size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// Steps must name plug-in types that a library in the plug-in folder exports, and listed
// libraries must load: both are only known once the catalog has examined the libraries. A check
// changes nothing: the catalog reads the data folder's scan cache but writes nothing there.
void check_plugins(registration::LoadResult& result) {
  try {
    auto settings = host::catalog::CatalogSettings::from(result.registration);
    settings.write_data_folder = false;
    const host::catalog::PluginCatalog catalog(std::move(settings));
    for (const auto& library : catalog.libraries()) {
      if (library.status == host::catalog::LibraryStatus::refused && library.listed_at)
        result.problems.push_back(
            {*library.listed_at, "plug-in library refused: " + library.reason});
    }
    auto unknown = registration::check_plugin_types(result.registration, catalog.type_names());
    result.problems.insert(result.problems.end(), unknown.begin(), unknown.end());
  } catch (const std::exception& e) {
    result.problems.push_back({result.registration.host.where, e.what()});
  }
}

int validate(const std::string& file, bool plugins) {
  registration::LoadResult result = registration::read(file);
  if (plugins && !result.has_errors()) check_plugins(result);
  std::size_t errors = 0, warnings = 0;
  for (const auto& problem : result.problems) {
    std::cerr << problem.str() << '\n';
    (problem.severity == registration::Severity::error ? errors : warnings)++;
  }
  if (errors) {
    std::cerr << file << ": " << count(errors, "error")
              << (warnings ? ", " + count(warnings, "warning") : "") << '\n';
    return 2;
  }
  const auto& r = result.registration;
  std::cout << file << ": valid: " << count(r.plugins.size(), "plug-in") << ", "
            << count(r.endpoints.size(), "endpoint") << ", " << count(r.steps.size(), "step")
            << (warnings ? " (" + count(warnings, "warning") + ")" : "") << '\n';
  return 0;
}

}  // namespace

STEPLINE_COMMAND([](CLI::App& app) {
  auto* command = app.add_subcommand(
      "validate", "Check a registration file and the files it includes; print every problem");
  auto file = std::make_shared<std::string>();
  auto skip_plugins = std::make_shared<bool>(false);
  command->add_option("file", *file, "the registration YAML file")->required();
  command->add_flag("--no-plugins", *skip_plugins,
                    "do not examine the plug-in libraries (plug-in types go unchecked)");
  command->callback([file, skip_plugins] { exit_status() = validate(*file, !*skip_plugins); });
});

}  // namespace stepline::cli
