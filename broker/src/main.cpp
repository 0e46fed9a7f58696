// stepline-broker: a local AMQP 1.0 broker that the Azure Service Bus and Event Hubs SDK clients
// use unchanged. `stepline-broker -c broker.yaml [--listen 127.0.0.1:5672]`.
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "broker.hpp"
#include "config.hpp"
#include "log.hpp"
#include "monitoring.hpp"

namespace {

// Every connection is a descriptor; lift the soft limit so a thousand clients fit.
void raise_descriptor_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

constexpr const char* kUsage =
    "stepline-broker: a local AMQP 1.0 broker behaving like Azure Service Bus and Event Hubs\n"
    "usage: stepline-broker -c FILE [--listen HOST:PORT] [--log-level LEVEL]\n"
    "  -c, --config FILE       broker YAML file (see docs/BROKER.md); required\n"
    "      --listen HOST:PORT  address to listen on; overrides 'listen' in the file\n"
    "      --http-listen HOST:PORT\n"
    "                          serve /healthz and /metrics there; overrides 'http_listen'\n"
    "      --log-level LEVEL   trace, debug, info, warn, error or off (default info)\n"
    "  -h, --help              print this and exit\n";

struct Options {
  std::string config_path, listen, level = "info", http_listen;
};

// Three options need no more than the C library's getopt_long. Returns the exit code to stop
// with, or -1 to go on.
int parse_options(int argc, char** argv, Options& options) {
  enum { kListen = 1000, kLogLevel, kHttpListen };
  const option longs[] = {{"config", required_argument, nullptr, 'c'},
                          {"listen", required_argument, nullptr, kListen},
                          {"http-listen", required_argument, nullptr, kHttpListen},
                          {"log-level", required_argument, nullptr, kLogLevel},
                          {"help", no_argument, nullptr, 'h'},
                          {nullptr, 0, nullptr, 0}};
  opterr = 0;
  for (int opt; (opt = getopt_long(argc, argv, ":c:h", longs, nullptr)) != -1;) {
    switch (opt) {
      case 'c':
        options.config_path = optarg;
        break;
      case kListen:
        options.listen = optarg;
        break;
      case kLogLevel:
        options.level = optarg;
        break;
      case kHttpListen:
        options.http_listen = optarg;
        break;
      case 'h':
        std::cout << kUsage;
        return 0;
      case ':':
        std::cerr << "stepline-broker: " << argv[optind - 1] << " needs a value\n" << kUsage;
        return 2;
      default:
        std::cerr << "stepline-broker: unknown option " << argv[optind - 1] << "\n" << kUsage;
        return 2;
    }
  }
  if (optind < argc) {
    std::cerr << "stepline-broker: unexpected argument " << argv[optind] << "\n" << kUsage;
    return 2;
  }
  if (options.config_path.empty()) {
    std::cerr << "stepline-broker: --config FILE is required\n" << kUsage;
    return 2;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stepline::broker;
  Options options;
  if (int code = parse_options(argc, argv, options); code >= 0) return code;
  const auto& [config_path, listen, level, http_listen] = options;

  BrokerConfig config;
  try {
    log::configure(level);
    config = load_config(config_path);
  } catch (const ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "--log-level: " << e.what() << "\n";
    return 2;
  }
  if (!listen.empty()) config.listen = listen;
  if (!http_listen.empty()) config.http_listen = http_listen;
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
      pthread_setname_np(pthread_self(), "broker-signals");
      int sig = 0;
      sigwait(&stop_signals, &sig);
      log::info("signal {}: stopping", sig);
      broker.stop();
    }).detach();
    log::info("stepline-broker: {} queues, {} topics, {} event hubs, {}", config.queues.size(),
              config.topics.size(), config.event_hubs.size(),
              config.data_dir.empty() ? "in memory" : "data in " + config.data_dir);
    std::unique_ptr<Monitoring> monitoring;
    if (!config.http_listen.empty()) {
      monitoring = std::make_unique<Monitoring>(broker, config.http_listen);
      log::info("health and metrics on {}/healthz and {}/metrics", monitoring->url(),
                monitoring->url());
    }
    broker.run(config.listen);
    monitoring.reset();
    log::info("stopped");
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
  return 0;
}
