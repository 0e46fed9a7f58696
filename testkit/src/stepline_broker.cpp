#include "testkit/stepline_broker.hpp"

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <sys/wait.h>

#ifndef STEPLINE_BROKER_EXE
#define STEPLINE_BROKER_EXE "stepline-broker"  // from PATH when the build has no broker target
#endif

namespace stepline::test {

SteplineBroker::SteplineBroker(const std::string& yaml) : dir_("stepline-broker-") {
  std::string text = yaml;
  for (auto at = text.find("{dir}"); at != std::string::npos; at = text.find("{dir}", at))
    text.replace(at, 5, dir_.path().string());
  std::ofstream(dir_.path() / "broker.yaml") << text;
  port_ = free_port();
  start();
}

SteplineBroker::~SteplineBroker() {
  stop();
}

std::string SteplineBroker::executable() {
  return STEPLINE_BROKER_EXE;
}

std::string SteplineBroker::url() const {
  return "amqp://127.0.0.1:" + std::to_string(port_);
}

std::string SteplineBroker::connection_string(const std::string& key_name,
                                              const std::string& key) const {
  return "Endpoint=sb://127.0.0.1:" + std::to_string(port_) + "/;SharedAccessKeyName=" + key_name +
         ";SharedAccessKey=" + key + ";UseDevelopmentEmulator=true";
}

std::string SteplineBroker::log() const {
  return tail(dir_.path() / "broker.log");
}

void SteplineBroker::start() {
  if (pid_ > 0) return;
  pid_ = spawn({executable(), "-c", (dir_.path() / "broker.yaml").string(), "--listen",
                "127.0.0.1:" + std::to_string(port_)},
               {}, dir_.path() / "broker.log");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!port_open(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("stepline-broker exited at start:\n" + log());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("stepline-broker did not listen within 10 s:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void SteplineBroker::stop() {
  if (pid_ <= 0) return;
  terminate(pid_, std::chrono::seconds(10));
  pid_ = -1;
}

}  // namespace stepline::test
