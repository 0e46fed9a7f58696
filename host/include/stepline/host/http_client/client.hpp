// The host's HTTP client, on libcurl: webhook posts and Blob Storage uploads go through it. One
// curl multi handle runs on its own thread; callers on any thread hand it requests, which complete
// futures or callbacks. Connections are kept and reused per host (HTTP/1.1 keep-alive; HTTP/2
// with multiplexing where an https server offers it by ALPN), TLS is verified against the system
// store or a given CA bundle, every request has a deadline, and a bounded window of requests in
// flight keeps memory flat (send() blocks while it is full). Responses keep at most
// ClientOptions::max_response_body bytes of body, whatever the server sends.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stepline::host::http_client {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "POST";
  std::string url;  ///< http:// or https://; may hold a secret (a key in the query): never logged
  Headers headers;  ///< may hold secrets (auth headers): never logged
  std::string body;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  ///< for the whole exchange
};

/// Why no HTTP response arrived.
enum class Failure {
  none,      ///< a response arrived (whatever its status)
  connect,   ///< the name did not resolve or nobody accepted the connection
  timeout,   ///< no complete response within the request's timeout
  tls,       ///< the server's certificate was not trusted or did not match its name
  network,   ///< the connection failed or was cut during the exchange
  invalid,   ///< the request cannot be sent (a malformed URL, an unsupported scheme)
  shutdown,  ///< the client stopped before the request was done
};

/// "connect", "timeout", "tls", "network", "invalid", "shutdown" ("none" for a response).
std::string_view to_string(Failure failure) noexcept;

struct Response {
  Failure failure = Failure::none;
  std::string error;      ///< what went wrong when failure != none; names the host, never the query
  long status = 0;        ///< the HTTP status, when a response arrived
  Headers headers;        ///< names in lower case
  std::string body;       ///< at most ClientOptions::max_response_body bytes
  bool body_cut = false;  ///< the server sent more than that
  /// The Retry-After header (seconds or an HTTP date), as a wait from now.
  std::optional<std::chrono::seconds> retry_after;
  std::string http_version;  ///< "1.1" or "2"

  bool ok() const { return failure == Failure::none && status >= 200 && status < 300; }
  /// The value of a header (name in any case), or nullptr.
  const std::string* header(std::string_view name) const;
};

struct ClientOptions {
  std::string ca_file;       ///< PEM bundle servers are verified against; empty = the system store
  std::size_t window = 256;  ///< requests queued or in flight at once; send() blocks beyond
  long max_host_connections = 16;  ///< connections to one host at once (HTTP/1.1 parallelism)
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::size_t max_response_body = 64 * 1024;
  std::string user_agent = "stepline";
};

/// Counters for tests and benchmarks.
struct ClientStats {
  std::uint64_t requests = 0;
  std::uint64_t connections_opened = 0;  ///< new connections (the rest reused one)
  std::uint64_t http2_responses = 0;
};

class Client {
 public:
  using Callback = std::function<void(Response)>;

  explicit Client(ClientOptions options = {});
  /// Shuts down with a 5 s grace period.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Sends `request`; blocks while the window is full. Never throws for a failed exchange: the
  /// future's response says what happened.
  std::future<Response> send(Request request);
  /// The same with a callback, run on the client's thread: keep it short. A send() from a
  /// callback never blocks (it may pass the window by the callbacks' sends). After shutdown()
  /// the callback runs at once, on the calling thread, with Failure::shutdown.
  void send(Request request, Callback done);
  /// Sends and waits.
  Response exchange(Request request);

  /// Stops taking requests, lets those in flight finish for up to `grace`, fails the rest with
  /// Failure::shutdown and joins the thread. Idempotent.
  void shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5));

  ClientStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepline::host::http_client
