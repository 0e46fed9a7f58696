// stepline-broker as a child process for tests and benchmarks: a YAML configuration written to a
// temporary folder, a free 127.0.0.1 port, stopped by its pid. stop() and start() keep the port
// (and the data folder, when the configuration names one), to test what happens while it is down.
#pragma once

#include <sys/types.h>

#include <string>

#include "testkit/process.hpp"

namespace stepline::test {

class SteplineBroker {
 public:
  /// The key of the RootManageSharedAccessKey policy in default_config().
  static constexpr const char* root_key = "test-root-key";

  /// Writes `yaml` (see docs/BROKER.md) and starts the broker; throws std::runtime_error with
  /// the log's tail when it does not listen within 10 s. "{dir}" in `yaml` becomes the fixture's
  /// own folder (for data_dir).
  explicit SteplineBroker(const std::string& yaml);
  ~SteplineBroker();
  SteplineBroker(const SteplineBroker&) = delete;
  SteplineBroker& operator=(const SteplineBroker&) = delete;

  /// The built executable (build/bin/stepline-broker).
  static std::string executable();

  int port() const { return port_; }
  /// "amqp://127.0.0.1:<port>"
  std::string url() const;
  /// The emulator connection string for a policy (plain TCP, UseDevelopmentEmulator=true).
  std::string connection_string(const std::string& key_name = "RootManageSharedAccessKey",
                                const std::string& key = root_key) const;
  const std::filesystem::path& dir() const { return dir_.path(); }
  /// The running broker's process id (-1 when stopped).
  pid_t pid() const { return pid_; }
  std::string log() const;

  /// SIGTERM to its pid; waits for it to exit.
  void stop();
  /// Starts it again on the same port and configuration.
  void start();

 private:
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace stepline::test
