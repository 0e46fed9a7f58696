// The webhook receiver (testkit/webhook_receiver.mjs, Node) as a child process for tests,
// benchmarks and the demo: a free 127.0.0.1 port, plain HTTP or HTTPS with throw-away
// certificates, an optional signing secret to verify, stopped by its pid. What it received and
// what it answers next are read and set over its control URLs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "testkit/process.hpp"
#include "testkit/tls_files.hpp"

namespace stepline::test {

/// One request the receiver kept.
struct ReceivedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  ///< names in lower case
  std::string body;
  std::string sha256;      ///< of the body, hex
  std::string signature;   ///< "valid", "invalid", "stale" or "absent"
  bool duplicate = false;  ///< its webhook-id came before
  int connection = 0;      ///< which connection (or HTTP/2 session) carried it
  std::string http_version;
  std::int64_t at_ms = 0;  ///< when it arrived, Unix milliseconds

  std::string header(const std::string& name) const;
};

class WebhookReceiver {
 public:
  struct Options {
    bool tls = false;         ///< HTTPS (HTTP/2 by ALPN) with certificates of a throw-away CA
    std::string secret{};     ///< verify Standard Webhooks signatures with this secret
    bool count_only = false;  ///< keep no request, only their number (benchmarks)
  };

  explicit WebhookReceiver(Options options);
  WebhookReceiver() : WebhookReceiver(Options{}) {}
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  int port() const { return port_; }
  /// "http://127.0.0.1:<port><path>", or https://localhost:<port><path> with TLS.
  std::string url(const std::string& path = "/hook") const;
  /// The CA that signed the receiver's certificate (TLS only).
  std::string ca_file() const { return tls_ ? tls_->ca_cert : std::string(); }
  pid_t pid() const { return pid_; }

  /// Responses to give next, in order, as a JSON array: [{"status":503,"headers":{...},
  /// "body":"...","delayMs":0}]; after them every request gets 200.
  void script(const std::string& json_array);
  void reset();
  std::vector<ReceivedRequest> received() const;
  /// How many requests arrived (also with count_only).
  long count() const;
  /// Waits until at least `count` requests arrived; returns them (fewer after the deadline).
  std::vector<ReceivedRequest> wait_for(std::size_t count,
                                        std::chrono::seconds deadline = std::chrono::seconds(60));

 private:
  std::string control(const std::string& method, const std::string& path,
                      const std::string& body = {}) const;

  TempDir dir_;
  std::optional<TlsFiles> tls_;
  int port_ = 0;
  pid_t pid_ = -1;
};

/// testkit/webhook_receiver.mjs in the source tree.
std::string webhook_receiver_script();

}  // namespace stepline::test
