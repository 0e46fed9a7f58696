// `stepline registration show|list|diff`: the resolved registration for people and scripts, with
// secrets masked, and what a deploy of one registration over another would change.
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <stepline/registration/describe.hpp>
#include <stepline/registration/load.hpp>

#include "command.hpp"

namespace stepline::cli {
namespace {

/// The registration, or nullopt after printing its errors.
std::optional<registration::Registration> load_or_report(const std::string& file) {
  registration::LoadResult result = registration::read(file);
  if (!result.has_errors()) return std::move(result.registration);
  for (const auto& problem : result.problems) std::cerr << problem.str() << '\n';
  std::cerr << file << ": not loaded; run `stepline validate " << file << "` after fixing it\n";
  return std::nullopt;
}

int show(const std::string& file, bool json) {
  auto r = load_or_report(file);
  if (!r) return 2;
  std::cout << (json ? registration::to_json(*r) : registration::to_yaml(*r));
  return 0;
}

int list(const std::string& file) {
  auto r = load_or_report(file);
  if (!r) return 2;
  for (const auto& s : r->steps) {
    std::printf("%-32s %-10s %-16s %-15s %-5s %4d  %s%s\n", s.name.c_str(), s.message.c_str(),
                s.entity.empty() ? "any" : s.entity.c_str(),
                std::string(to_string(s.stage)).c_str(), std::string(to_string(s.mode)).c_str(),
                s.rank,
                s.plugin_type.empty() ? ("endpoint " + s.endpoint).c_str() : s.plugin_type.c_str(),
                s.enabled ? "" : " (disabled)");
  }
  return 0;
}

int diff(const std::string& before_file, const std::string& after_file, bool exit_code) {
  auto before = load_or_report(before_file);
  auto after = load_or_report(after_file);
  if (!before || !after) return 2;
  auto differences = registration::diff(*before, *after);
  if (differences.empty()) std::cout << "no differences\n";
  for (const auto& d : differences) {
    using Kind = registration::Difference::Kind;
    std::cout << (d.kind == Kind::added     ? "+ "
                  : d.kind == Kind::removed ? "- "
                                            : "~ ")
              << d.item
              << (d.kind == Kind::added     ? " added"
                  : d.kind == Kind::removed ? " removed"
                                            : " changed")
              << '\n';
    for (const auto& change : d.changes) std::cout << "    " << change << '\n';
  }
  return exit_code && !differences.empty() ? 1 : 0;
}

struct ShowOptions {
  std::string file;
  bool json = false;
};

struct DiffOptions {
  std::string before;
  std::string after;
  bool exit_code = false;
};

void add_registration_command(CLI::App& app) {
  auto* command =
      app.add_subcommand("registration", "Show, list or compare registrations (secrets masked)");
  command->require_subcommand(1);

  auto show_options = std::make_shared<ShowOptions>();
  auto* show_command =
      command->add_subcommand("show", "Print the resolved registration with secrets as ***");
  show_command->add_option("-c,--config", show_options->file, "the registration YAML file")
      ->required();
  show_command->add_flag("--json", show_options->json, "print JSON instead of YAML");
  show_command->callback(
      [show_options] { exit_status() = show(show_options->file, show_options->json); });

  auto list_file = std::make_shared<std::string>();
  auto* list_command = command->add_subcommand(
      "list", "One line per step: name, message, entity, stage, mode, rank, handler");
  list_command->add_option("-c,--config", *list_file, "the registration YAML file")->required();
  list_command->callback([list_file] { exit_status() = list(*list_file); });

  auto diff_options = std::make_shared<DiffOptions>();
  auto* diff_command = command->add_subcommand(
      "diff", "What replacing registration A with B adds, removes and changes");
  diff_command->add_option("A", diff_options->before, "the registration in use")->required();
  diff_command->add_option("B", diff_options->after, "the registration to deploy")->required();
  diff_command->add_flag("--exit-code", diff_options->exit_code,
                         "exit with 1 when there are differences");
  diff_command->callback([diff_options] {
    exit_status() = diff(diff_options->before, diff_options->after, diff_options->exit_code);
  });
}

}  // namespace

STEPLINE_COMMAND(add_registration_command);

}  // namespace stepline::cli
