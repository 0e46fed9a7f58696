// Starts stepline-broker as a child process on a free 127.0.0.1 port for a test, and stops it
// by its pid.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>

namespace stepline::broker::testing {

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

class BrokerProcess {
 public:
  /// Writes `yaml` to a temporary file and starts the broker on a free port. With
  /// `max_descriptors`, the process may hold at most that many descriptors (RLIMIT_NOFILE).
  explicit BrokerProcess(const std::string& yaml, std::string dir = {}, rlim_t max_descriptors = 0)
      : max_descriptors_(max_descriptors) {
    owns_dir_ = dir.empty();
    dir_ = dir.empty() ? std::filesystem::temp_directory_path() /
                             ("stepline-broker-test-" + std::to_string(::getpid()) + "-" +
                              std::to_string(counter()++))
                       : std::filesystem::path(dir);
    std::filesystem::create_directories(dir_);
    config_ = (dir_ / "broker.yaml").string();
    std::ofstream(config_) << yaml;
    start();
  }
  ~BrokerProcess() {
    stop();
    if (owns_dir_) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  void start() {
    port_ = free_port();
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string listen = "127.0.0.1:" + std::to_string(port_);
      std::string log = (dir_ / "broker.log").string();
      FILE* f = std::fopen(log.c_str(), "a");
      if (f) ::dup2(fileno(f), 2);
      if (max_descriptors_) {
        rlimit lim{max_descriptors_, max_descriptors_};
        ::setrlimit(RLIMIT_NOFILE, &lim);
      }
      ::execl(STEPLINE_BROKER_EXE, STEPLINE_BROKER_EXE, "-c", config_.c_str(), "--listen",
              listen.c_str(), "--log-level", "debug", nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !port_open(port_); ++i) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("stepline-broker exited at start; see " +
                                 (dir_ / "broker.log").string());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }

  /// SIGTERM, then wait; returns the exit status.
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::string url() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const {
    std::ifstream in(dir_ / "broker.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path dir_;
  bool owns_dir_ = false;
  std::string config_;
  int port_ = 0;
  pid_t pid_ = -1;
  rlim_t max_descriptors_ = 0;
};

}  // namespace stepline::broker::testing
