// Runs a short-lived child process with a deadline and collects what it wrote. The catalog uses
// it to examine unknown plug-in libraries outside the host process, so that a library that
// crashes or hangs while loading costs a child, not the host. ChildProcess is the long-lived,
// two-way kind: isolated plug-ins talk to their worker process through it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace stepline::host::process {

struct ChildResult {
  bool timed_out = false;  ///< the deadline passed and the child was killed
  int exit_code = -1;      ///< valid when the child exited normally
  int signal = 0;          ///< the signal that ended the child, 0 when it exited
  std::string out;         ///< everything written to stdout
  std::string err;         ///< everything written to stderr

  bool succeeded() const noexcept { return !timed_out && signal == 0 && exit_code == 0; }
  /// "exit status 3", "signal SIGABRT (Aborted)" or "timed out after 1.5 s".
  std::string describe_end(std::chrono::milliseconds timeout) const;
};

/// Starts `argv[0]` (a path, not searched in PATH) with `argv`, waits at most `timeout` for it
/// to end, and kills it (SIGKILL) when it does not. Throws std::system_error when the child
/// cannot be started.
ChildResult run_child(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

/// How a long-lived child ended.
struct ChildEnd {
  int exit_code = -1;  ///< valid when the child exited normally
  int signal = 0;      ///< the signal that ended it, 0 when it exited
  /// "exit status 3" or "SIGSEGV (Segmentation fault)".
  std::string describe() const;
};

/// A child process whose stdin and stdout are both one end of a Unix stream socket, the other
/// end held here; its stderr is this process's. A socket rather than two pipes so that writing
/// to a child that died returns an error (MSG_NOSIGNAL) instead of raising SIGPIPE in the host.
/// The destructor kills (SIGKILL) and reaps a child still running.
class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Io { done, closed, timed_out };

  /// Starts `argv[0]` (a path, not searched in PATH) with `argv` and `environment`
  /// ("NAME=value" entries). Throws std::system_error when it cannot be started.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& environment);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// Writes all of `data` unless the child closes its end or `deadline` passes first.
  Io write(std::string_view data, Clock::time_point deadline);
  /// Reads exactly `size` bytes into `out` unless the child closes its end or `deadline` passes.
  Io read(char* out, std::size_t size, Clock::time_point deadline);

  /// True when the child wrote something or closed its end: an idle child should do neither.
  bool readable() const;

  /// Closes this end (the child reads end-of-file), waits up to `grace` for the child to exit and
  /// kills it after that. Returns how it ended; later calls return the same.
  ChildEnd stop(std::chrono::milliseconds grace);

 private:
  pid_t pid_ = -1;
  int channel_ = -1;
  bool reaped_ = false;
  ChildEnd end_;
};

}  // namespace stepline::host::process
