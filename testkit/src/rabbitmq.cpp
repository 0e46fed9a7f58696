#include "testkit/rabbitmq.hpp"

#include <fstream>
#include <stdexcept>
#include <thread>

#include <unistd.h>

namespace stepline::test {
namespace {

constexpr const char* server = "/usr/lib/rabbitmq/bin/rabbitmq-server";

}  // namespace

bool RabbitMq::installed() {
  return ::access(server, X_OK) == 0;
}

RabbitMq::RabbitMq()
    : dir_("stepline-rabbitmq-"),
      port_(free_port()),
      dist_port_(free_port()),
      epmd_port_(free_port()) {
  if (!installed())
    throw std::runtime_error("rabbitmq-server is not installed; run ./dev setup --tests");
  node_ = "stepline" + std::to_string(::getpid()) + "x" + std::to_string(port_) + "@localhost";
  // Written directly: the same file `rabbitmq-plugins --offline enable` writes, without
  // starting a second Erlang VM.
  std::ofstream(dir_.path() / "enabled_plugins") << "[rabbitmq_amqp1_0].\n";
  std::ofstream(dir_.path() / "rabbitmq.conf")
      << "listeners.tcp.default = 127.0.0.1:" << port_ << "\n"
      << "loopback_users.guest = true\n"
      << "disk_free_limit.absolute = 1MB\n";
  start();
}

RabbitMq::~RabbitMq() {
  stop();
}

std::string RabbitMq::url() const {
  return "amqp://127.0.0.1:" + std::to_string(port_);
}

std::string RabbitMq::connection_string(const std::string& password) const {
  return "Endpoint=amqp://127.0.0.1:" + std::to_string(port_) +
         "/;SharedAccessKeyName=guest;SharedAccessKey=" + password;
}

void RabbitMq::start() {
  if (pid_ > 0) return;
  const auto& d = dir_.path();
  std::map<std::string, std::string> env{
      {"HOME", d.string()},
      {"RABBITMQ_NODENAME", node_},
      {"RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1"},
      {"RABBITMQ_NODE_PORT", std::to_string(port_)},
      {"RABBITMQ_DIST_PORT", std::to_string(dist_port_)},
      {"ERL_EPMD_PORT", std::to_string(epmd_port_)},
      {"ERL_EPMD_ADDRESS", "127.0.0.1"},
      {"RABBITMQ_MNESIA_BASE", (d / "mnesia").string()},
      {"RABBITMQ_LOG_BASE", (d / "log").string()},
      {"RABBITMQ_ENABLED_PLUGINS_FILE", (d / "enabled_plugins").string()},
      {"RABBITMQ_CONFIG_FILE", (d / "rabbitmq.conf").string()},
      {"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}"},
  };
  auto log = d / "server.log";
  std::ofstream(log, std::ios::trunc).close();
  pid_ = spawn({server}, env, log, d);  // crash dumps land in the temp dir, not the caller's
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    // The listener opens before the plug-ins finish booting; the banner line comes last.
    if (tail(log).find("completed with") != std::string::npos && port_open(port_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string why = tail(log);
  stop();
  throw std::runtime_error("RabbitMQ did not start on 127.0.0.1:" + std::to_string(port_) + ":\n" +
                           why);
}

void RabbitMq::stop() {
  if (pid_ <= 0) return;
  terminate(pid_);
  pid_ = -1;
  // The node started its own epmd on a private port. It refuses to exit while it still lists
  // the node, which it notices a moment after the node is gone.
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (run({"epmd", "-kill"}, {{"ERL_EPMD_PORT", std::to_string(epmd_port_)}}) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace stepline::test
