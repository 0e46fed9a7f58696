// Runs a short-lived child process with a deadline and collects what it wrote. The catalog uses
// it to examine unknown plug-in libraries outside the host process, so that a library that
// crashes or hangs while loading costs a child, not the host.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace stepline::host {

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

}  // namespace stepline::host
