// The broker's health and metrics over HTTP (`http_listen` in the configuration): /healthz says
// whether the AMQP thread still answers, /metrics gives, in the Prometheus text format, each
// entity's messages (active, deferred, dead-lettered, scheduled), messages in and out, and the
// connections the broker holds, accepted, refused and closed. Entity state belongs to the AMQP
// thread, so each scrape asks that thread for a snapshot; the connection counters are atomics
// read from here.
#pragma once

#include <memory>
#include <string>

namespace stepline::broker {

class Broker;

class Monitoring {
 public:
  /// Serves `broker`'s health and metrics on `address` (host:port; port 0 = any). Throws
  /// std::runtime_error naming the address when it cannot listen.
  Monitoring(Broker& broker, const std::string& address);
  ~Monitoring();
  Monitoring(const Monitoring&) = delete;
  Monitoring& operator=(const Monitoring&) = delete;

  /// "http://127.0.0.1:9090", the bound address.
  std::string url() const;

 private:
  class Routes;
  std::unique_ptr<Routes> routes_;
};

}  // namespace stepline::broker
