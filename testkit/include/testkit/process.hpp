// Small process and socket helpers for test servers: free loopback ports, temporary folders,
// running a command and waiting for a port to accept.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace stepline::test {

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();
/// True once something accepts on 127.0.0.1:port.
bool port_open(int port);
/// A fresh folder under the system temp dir, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};
/// A TCP listener on 127.0.0.1 that accepts connections and never says a word: a server stuck in
/// its handshake.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::vector<int> clients_;
  std::thread thread_;
};

/// Starts `argv` with `env` added to the environment, stdout and stderr to `log`, in its own
/// process group, in `cwd` when given (servers may drop files there). Returns the pid.
pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::filesystem::path& log, const std::filesystem::path& cwd = {});
/// Runs a command to completion; returns its exit status. Throws when it cannot start.
int run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
        const std::filesystem::path& log = "/dev/null");
/// What a finished command printed and how it ended.
struct Captured {
  int status = -1;     ///< the exit status; -1 when a signal ended it
  std::string output;  ///< stdout and stderr together
};
/// Runs `argv` to completion and keeps its output. Throws when it cannot start.
Captured capture(const std::vector<std::string>& argv);
/// The `stepline` executable of this build tree.
std::string stepline_executable();
/// capture() of `stepline` with `args`, as an operator runs it from a shell.
Captured run_stepline(const std::vector<std::string>& args);
/// Sends SIGTERM, waits up to `grace`, then SIGKILL; reaps the process.
void terminate(pid_t pid, std::chrono::milliseconds grace = std::chrono::seconds(20));
/// The last `bytes` of a file, for error messages.
std::string tail(const std::filesystem::path& file, std::size_t bytes = 2000);

}  // namespace stepline::test
