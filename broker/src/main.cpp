// stepline-broker: a local AMQP 1.0 broker that the Azure Service Bus and Event Hubs SDK clients
// use unchanged. `stepline-broker -c broker.yaml [--listen 127.0.0.1:5672]`.
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "broker.hpp"
#include "config.hpp"
#include "log.hpp"

namespace {

// Every connection is a descriptor; lift the soft limit so a thousand clients fit.
void raise_descriptor_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stepline::broker;
  CLI::App app{
      "stepline-broker: a local AMQP 1.0 broker behaving like Azure Service Bus and Event Hubs"};
  std::string config_path, listen, level = "info";
  app.add_option("-c,--config", config_path, "broker YAML file (see docs/BROKER.md)")->required();
  app.add_option("--listen", listen, "host:port to listen on; overrides 'listen' in the file");
  app.add_option("--log-level", level, "trace, debug, info, warn, error or off");
  CLI11_PARSE(app, argc, argv);

  BrokerConfig config;
  try {
    log::set_level(level);
    config = load_config(config_path);
  } catch (const ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "--log-level: " << e.what() << "\n";
    return 2;
  }
  if (!listen.empty()) config.listen = listen;
  raise_descriptor_limit();

  // Signals are taken by one thread with sigwait so the stop request is an ordinary call.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    Broker broker(config);
    std::thread([&broker, stop_signals] {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      log::info("signal {}: stopping", sig);
      broker.stop();
    }).detach();
    log::info("stepline-broker: {} queues, {} topics, {} event hubs, {}", config.queues.size(),
              config.topics.size(), config.event_hubs.size(),
              config.data_dir.empty() ? "in memory" : "data in " + config.data_dir);
    broker.run(config.listen);
    log::info("stopped");
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
  return 0;
}
