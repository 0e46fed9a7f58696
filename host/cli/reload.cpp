// `stepline reload -c FILE`: asks every `stepline serve` running that registration to reload it
// now, through their control sockets in its data folder (`<data_folder>/control/`), and prints
// what each answered: the generation in use and its SHA-256, or the errors (file:line:col) that
// kept the old registration in use. Exit 0 when every one reloaded, 1 when one refused the new
// registration or could not be asked, 2 when no serve of that registration is running.
#include <errno.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

#include <stepline/duration.hpp>
#include <stepline/host/service/control_socket.hpp>
#include <stepline/registration/load.hpp>

#include "command.hpp"

namespace stepline::cli {
namespace {
namespace fs = std::filesystem;

struct ReloadOptions {
  std::string config;
  std::string timeout = "120s";
};

// What one serve answered, printed; true when it reloaded.
bool report(const fs::path& socket, const std::vector<std::string>& lines) {
  std::string pid = socket.stem().string();
  if (pid.rfind("serve-", 0) == 0) pid = pid.substr(6);
  if (lines.empty()) {
    std::cerr << "stepline serve (pid " << pid << "): no answer\n";
    return false;
  }
  const auto& head = lines.front();
  bool ok = head.rfind("reloaded ", 0) == 0;
  if (ok || head.rfind("failed ", 0) == 0) {
    auto rest = head.substr(head.find(' ') + 1);
    auto space = rest.find(' ');
    std::string generation = rest.substr(0, space);
    std::string sha = space == std::string::npos ? "" : rest.substr(space + 1);
    (ok ? std::cout : std::cerr) << "stepline serve (pid " << pid << "): "
                                 << (ok ? "reloaded: registration generation " + generation +
                                              " in use (sha256 " + sha + ")"
                                        : "not reloaded: generation " + generation +
                                              " stays in use")
                                 << '\n';
  } else {
    std::cerr << "stepline serve (pid " << pid << "): " << head << '\n';
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto& line = lines[i];
    auto space = line.find(' ');
    std::cerr << (space == std::string::npos ? line : line.substr(space + 1)) << '\n';
  }
  return ok;
}

int reload(const ReloadOptions& o) {
  auto timeout = stepline::parse_duration(o.timeout);
  if (!timeout) {
    std::cerr << "--timeout: '" << o.timeout << "' is not a duration; write it like 30s or 2m\n";
    return 2;
  }
  std::error_code ec;
  if (!fs::is_regular_file(o.config, ec)) {
    std::cerr << o.config << ": no such file; name the registration stepline serve runs\n";
    return 2;
  }
  // Only the data folder is needed here; the running host checks everything else and says
  // what is wrong, so a broken registration is still sent (and refused there).
  auto loaded = registration::read(o.config);
  auto folder =
      host::service::control_socket_path(loaded.registration.host.data_folder, 0).parent_path();
  auto registration_file = fs::absolute(o.config).lexically_normal().string();
  int asked = 0, reloaded = 0;
  if (fs::is_directory(folder, ec)) {
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
      const auto& path = entry.path();
      if (path.extension() != ".sock" || path.filename().string().rfind("serve-", 0) != 0) continue;
      try {
        auto lines =
            host::service::ask_control_socket(path, "reload " + registration_file, *timeout);
        // A serve of another registration sharing the data folder declines; not ours to count.
        if (!lines.empty() && lines.front().rfind("refused stepline serve", 0) == 0) continue;
        ++asked;
        if (report(path, lines)) ++reloaded;
      } catch (const std::system_error& e) {
        // Nobody listens: a serve that was killed left its socket behind.
        if (e.code().value() == ECONNREFUSED || e.code().value() == ENOENT) {
          fs::remove(path, ec);
          continue;
        }
        ++asked;
        std::cerr << path.string() << ": " << e.what() << '\n';
      } catch (const std::exception& e) {
        ++asked;
        std::cerr << e.what() << '\n';
      }
    }
  }
  if (asked == 0) {
    std::cerr << "no stepline serve of " << o.config << " is running (no control socket in "
              << folder.string() << "); start one with stepline serve -c " << o.config
              << ", or send SIGHUP to its process\n";
    return 2;
  }
  return reloaded == asked ? 0 : 1;
}

}  // namespace

STEPLINE_COMMAND([](CLI::App& app) {
  auto o = std::make_shared<ReloadOptions>();
  auto* command = app.add_subcommand(
      "reload",
      "Make the running stepline serve of a registration reload it now and print the result");
  command->add_option("-c,--config", o->config, "the registration YAML file serve runs")
      ->required();
  command->add_option("--timeout", o->timeout,
                      "how long to wait for each host's answer (default 120s)");
  command->callback([o] { exit_status() = reload(*o); });
});

}  // namespace stepline::cli
