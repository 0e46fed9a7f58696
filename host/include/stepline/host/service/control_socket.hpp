// The control socket of a running `stepline serve`, through which `stepline reload` asks it to
// reload and hears how that went: a Unix socket in the data folder
// (`<data_folder>/control/serve-<pid>.sock`, readable and writable by the owner only), so only
// the host's own user (or root) can reach it, and every `serve` sharing a data folder has its
// own. One request line, one answer, then the connection closes:
//
//   → reload /absolute/path/of/the/registration.yaml
//   ← reloaded 3 <sha256>           or   failed 2 <sha256>   (the generation in use after it)
//   ← error <file:line:col: error: …>      (one line each)
//   ← warning <…>
//   ← end
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace stepline::host::service {

/// The socket a `serve` of this process id listens on in `data_folder`.
std::filesystem::path control_socket_path(const std::filesystem::path& data_folder, long pid);
/// Why `path` cannot be a Unix socket address (too long), or nullopt.
std::optional<std::string> control_socket_problem(const std::filesystem::path& path);

class ControlSocket {
 public:
  /// Answers a request line with the answer's lines (without "end").
  using Handler = std::function<std::vector<std::string>(const std::string& request)>;

  /// Creates the folder (mode 0700) and listens; removes a socket file a dead process left.
  /// Throws std::runtime_error saying why it cannot.
  ControlSocket(std::filesystem::path path, Handler handler);
  /// Stops listening and removes the socket file.
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  void run();
  void serve_one(int connection);

  std::filesystem::path path_;
  Handler handler_;
  int listener_ = -1;
  int wake_ = -1;
  std::thread thread_;
};

/// What `stepline reload` does for one socket: sends `request`, returns the answer's lines.
/// Throws std::system_error when nothing listens there (a stale socket), std::runtime_error
/// when the answer does not come within `timeout`.
std::vector<std::string> ask_control_socket(const std::filesystem::path& path,
                                            const std::string& request,
                                            std::chrono::milliseconds timeout);

}  // namespace stepline::host::service
