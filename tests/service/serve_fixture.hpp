// `stepline serve` started by a test: a registration written into a folder of its own (the test
// plug-ins, a fresh data folder, the intake on a free port of 127.0.0.1), the port read from its
// output, stopped by process id when the test ends.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "testkit/http_client.hpp"
#include "testkit/process.hpp"

namespace stepline::test {

class Served {
 public:
  /// `sections` is the registration after its host section (http:, plugins:, steps:, …).
  explicit Served(const std::string& sections, std::map<std::string, std::string> env = {},
                  std::vector<std::string> args = {},
                  const std::filesystem::path& plugin_folder = SERVICE_PLUGIN_DIR)
      : folder_("stepline-serve-") {
    config_ = folder_.path() / "stepline.yaml";
    std::ofstream(config_) << "host:\n  plugin_folder: " << plugin_folder.string()
                           << "\n  data_folder: data\n  log_level: info\n"
                           << sections;
    log_ = folder_.path() / "serve.log";
    std::vector<std::string> argv{stepline_executable(), "serve", "-c", config_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = spawn(argv, env, log_, folder_.path());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    static const std::regex listening(R"(listening on https?://[^ ]*:(\d+))");
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      std::string text = output();
      if (std::regex_search(text, m, listening)) {
        port_ = std::stoi(m[1]);
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL("stepline serve exited before listening:\n" << text);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("stepline serve did not listen within 90 s:\n" << output());
  }
  ~Served() {
    if (pid_ > 0) terminate(pid_);
  }
  Served(const Served&) = delete;
  Served& operator=(const Served&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& folder() const { return folder_.path(); }
  const std::filesystem::path& config() const { return config_; }
  std::string output() const {
    std::ifstream in(log_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  HttpReply request(const std::string& method, const std::string& target,
                    const std::string& body = {},
                    std::vector<std::pair<std::string, std::string>> headers = {}) const {
    return http_request(port_, method, target, body, headers);
  }

  /// Sends SIGTERM and waits for the exit; returns the exit status (-1 for a signal).
  int stop(std::chrono::seconds limit = std::chrono::seconds(60)) {
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    terminate(pid_);
    pid_ = -1;
    return -1;
  }

 private:
  TempDir folder_;
  std::filesystem::path config_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int port_ = 0;
};

/// Resident memory of a process in KiB, from /proc.
inline long resident_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

/// Waits for a condition with a generous deadline (the machine may be busy).
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace stepline::test
