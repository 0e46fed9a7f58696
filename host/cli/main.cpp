// `stepline`: the host's command line. Subcommands live in the other files of this folder.
#include <cstdlib>
#include <vector>

#include <stepline/host/jobs/async_service.hpp>
#include <stepline/host/process/allocator.hpp>
#include <stepline/version.hpp>

#include "command.hpp"

namespace stepline::cli {
namespace {

std::vector<CommandSetup>& registry() {
  static std::vector<CommandSetup> commands;
  return commands;
}

}  // namespace

CommandRegistration::CommandRegistration(CommandSetup setup) {
  registry().push_back(std::move(setup));
}

int& exit_status() {
  static int status = 0;
  return status;
}

}  // namespace stepline::cli

int main(int argc, char** argv) {
  stepline::host::process::tune_allocator();
  CLI::App app{"stepline: runs registered plug-in steps on business operations"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "stepline " STEPLINE_SDK_VERSION);
  for (const auto& setup : stepline::cli::registry()) setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a command line that cannot be used is bad input (2), the
    // status every command documents, not one of CLI11's own codes.
    return app.exit(e) == 0 ? 0 : 2;
  }
  const int status = stepline::cli::exit_status();
  // A worker thread left inside a hung plug-in may still run its code: static destructors could
  // unload it under the thread. The log lines are written already (the log flushes each one).
  if (stepline::host::jobs::AsyncService::threads_left_behind() > 0) std::_Exit(status);
  return status;
}
