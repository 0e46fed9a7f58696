// `stepline validate FILE`: reads a registration and its includes and prints every problem as
// file:line:col: error|warning: message. Exit 2 when there is an error, 0 otherwise.
#include <iostream>
#include <memory>
#include <string>

#include <stepline/registration/load.hpp>

#include "command.hpp"

namespace stepline::cli {
namespace {

std::string count(std::size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

int validate(const std::string& file) {
  registration::LoadResult result = registration::read(file);
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
  command->add_option("file", *file, "the registration YAML file")->required();
  command->callback([file] { exit_status() = validate(*file); });
});

}  // namespace stepline::cli
