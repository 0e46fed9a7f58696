// The `stepline` command line is a set of subcommands, each in its own file under host/cli/,
// registered with STEPLINE_COMMAND so that adding one touches no other file.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace stepline::cli {

/// Adds one subcommand (with its options and callback) to the application.
using CommandSetup = std::function<void(CLI::App& app)>;

struct CommandRegistration {
  explicit CommandRegistration(CommandSetup setup);
};

/// The process exit status; a command's callback sets it (0 = success, 1 = the operation failed,
/// 2 = bad input or configuration).
int& exit_status();

}  // namespace stepline::cli

#define STEPLINE_COMMAND_CAT2_(a, b) a##b
#define STEPLINE_COMMAND_CAT_(a, b) STEPLINE_COMMAND_CAT2_(a, b)
/// STEPLINE_COMMAND([](CLI::App& app) { auto* c = app.add_subcommand("x", "..."); ... });
#define STEPLINE_COMMAND(setup)                                                                  \
  static const ::stepline::cli::CommandRegistration STEPLINE_COMMAND_CAT_(stepline_command_,     \
                                                                          __COUNTER__) {setup}
