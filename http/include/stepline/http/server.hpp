// An HTTP/1.1 server for many keep-alive connections on few threads. Network threads read and
// write every connection without blocking; requests whose handling may block (an operation, a
// database query) wait in a bounded queue for a small pool of worker threads. What bounds the
// server's memory and time:
//   - a request's head and body must arrive within request_timeout, so a client sending a byte
//     a second holds a connection slot for that long, never a worker;
//   - a connection with no request under way is closed after idle_timeout;
//   - bodies over body_limit are refused (413) before they are read;
//   - bodies held at once (being read, queued, handled) stay within body_memory, and requests
//     waiting for a worker within queue_limit; past either the client gets 503 with
//     Retry-After instead of the server growing;
//   - connections beyond max_connections get 503 and are closed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <stepline/http/message.hpp>

namespace stepline::http {

struct TlsFiles {
  std::filesystem::path certificate;  ///< PEM, the server's certificate (and its chain)
  std::filesystem::path key;          ///< PEM, its private key
};

struct ServerOptions {
  std::string address = "127.0.0.1";  ///< an IPv4 or IPv6 address to listen on
  unsigned short port = 0;            ///< 0 = any free port (see Server::port())
  std::size_t body_limit = 1024 * 1024;
  std::size_t header_limit = 16 * 1024;  ///< request line and headers together
  int network_threads = 1;
  int workers = 4;
  std::size_t queue_limit = 256;  ///< requests waiting for a worker
  std::size_t max_connections = 1024;
  /// Bodies held at once; 0 = max(64 MiB, 4 × body_limit).
  std::size_t body_memory = 0;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  /// What a 503 asks the client to wait, in seconds.
  int retry_after = 1;
  std::optional<TlsFiles> tls;
  std::string server_name = "stepline";  ///< the Server header
};

/// The answer to one request, given once from any thread (Handler::handle_async). Copies share
/// it: the first answer counts, later ones are ignored. Dropped without an answer (its last copy
/// destroyed), it answers 500, so that no connection waits for ever; after the server stopped
/// it does nothing.
class Reply {
 public:
  struct State;
  explicit Reply(std::shared_ptr<State> state) : state_(std::move(state)) {}
  void operator()(Response answer) const;

 private:
  std::shared_ptr<State> state_;
};

/// What the server does with requests. Only handle() and handle_async() may block.
class Handler {
 public:
  virtual ~Handler() = default;
  /// On a network thread, once the head is read and before the body is: a response refuses the
  /// request at once (authentication, an unknown route, a wrong method) without reading its
  /// body; nullopt goes on. `head.body` is empty.
  virtual std::optional<Response> screen(const Request& head) { return std::nullopt; }
  /// On a network thread with the whole request: a response for what never blocks (health,
  /// metrics); nullopt goes on to take_now().
  virtual std::optional<Response> answer_now(const Request& request) { return std::nullopt; }
  /// On a network thread, after answer_now(): true when the handler takes the request to answer
  /// later without blocking (it hands it to a queue of its own), having called `reply` once for
  /// the Reply that answers it; false queues the request for a worker. Saves the hand-over to a
  /// worker and back. An exception before `reply` was called becomes a 500.
  virtual bool take_now(const std::shared_ptr<const Request>& request,
                        const std::function<Reply()>& reply) {
    return false;
  }
  /// On a worker thread. An exception becomes a 500 made by error().
  virtual Response handle(const Request& request) = 0;
  /// On a worker thread, for a handler that answers later: it hands the request on (to a queue
  /// of its own) and returns, and `reply` answers from whichever thread finishes it. The worker
  /// is free meanwhile, so requests in flight are not limited by the workers. An exception
  /// thrown before `reply` is called becomes a 500. The default answers handle() at once.
  virtual void handle_async(std::shared_ptr<const Request> request, Reply reply) {
    reply(handle(*request));
  }
  /// The response for a request the server itself refuses: 400 (malformed), 408 (too slow),
  /// 413 (body too large), 431 (head too large), 500 (a handler threw), 503 (saturated; the
  /// server adds Retry-After). `message` says what happened, for the client.
  virtual Response error(int status, const std::string& message);
};

struct ServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t requests = 0;   ///< whole requests read
  std::uint64_t saturated = 0;  ///< answered 503: queue, memory or connection limit
  std::uint64_t timeouts = 0;   ///< connections closed for being too slow or idle
  std::uint64_t in_flight = 0;  ///< requests read and not yet answered
  std::uint64_t queued = 0;     ///< of those, waiting for a worker
};

class Server {
 public:
  /// `handler` must outlive the server. Nothing listens before start().
  Server(ServerOptions options, Handler& handler);
  /// Stops (stop()) if still running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Loads the TLS files, binds, listens and starts the threads. Throws std::runtime_error
  /// naming the address or the file that could not be used.
  void start();
  /// The bound port (the one chosen when options.port was 0).
  unsigned short port() const noexcept;
  /// "http://127.0.0.1:8080" or "https://[::1]:8443".
  std::string url() const;

  /// Stops accepting connections and closes those waiting for a next request; requests being
  /// read or handled go on and are answered with `Connection: close`.
  void stop_accepting();
  /// Waits until no request is being read, queued or handled; false when `timeout` passed first.
  bool wait_idle(std::chrono::milliseconds timeout);
  /// Closes every connection and joins the threads. Requests still in flight are dropped: call
  /// stop_accepting() and wait_idle() first for a graceful stop. Idempotent.
  void stop();

  ServerStats stats() const;

  class Impl;  ///< in server.cpp, where its connections need it by name

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepline::http
