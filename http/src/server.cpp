// The server on Boost.Beast: one acceptor, one session per connection on its own strand, the
// same session code over a plain TCP stream and over TLS. The only file that includes Beast.
#include <stepline/http/server.hpp>

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <stepline/text.hpp>
#include <stepline/thread_name.hpp>

#include "worker_pool.hpp"

namespace stepline::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

Response Handler::error(int status, const std::string& message) {
  return Response::text(status, message + "\n");
}

namespace {

/// The Date header's text for now (RFC 9110 IMF-fixdate).
std::string http_date() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buffer, n);
}

bool is_timeout(const beast::error_code& ec) {
  return ec == beast::error::timeout;
}

/// The peer went away or closed its side: nothing to answer.
bool is_disconnect(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::operation_aborted ||
         ec == net::error::broken_pipe || ec == ssl::error::stream_truncated;
}

/// The 500's message for what a handler threw (called in a catch block).
std::string handler_failure() {
  try {
    throw;
  } catch (const std::exception& e) {
    return std::string("the request failed: ") + e.what();
  } catch (...) {
    return "the request failed";
  }
}

}  // namespace

/// Whether the server still runs: a Reply given after it stopped must not touch it.
struct Liveness {
  std::mutex mutex;
  bool alive = true;
};

/// A Reply's shared part: how to deliver an answer (nullopt: the handler dropped the request).
struct Reply::State {
  std::function<void(std::optional<Response>)> deliver;
  std::atomic<bool> answered{false};
  ~State() {
    if (answered.exchange(true)) return;
    try {
      deliver(std::nullopt);
    } catch (...) {  // a destructor: the session times out instead
    }
  }
};

void Reply::operator()(Response answer) const {
  if (state_->answered.exchange(true)) return;
  state_->deliver(std::move(answer));
}

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  /// Run on the session's strand.
  virtual void close_if_idle() = 0;
  virtual void close_now() = 0;
  virtual net::any_io_executor executor() = 0;
  std::list<std::weak_ptr<SessionBase>>::iterator registration;
};

class Server::Impl {
 public:
  Impl(ServerOptions o, Handler& h)
      : options(std::move(o)),
        handler(h),
        body_budget(options.body_memory ? options.body_memory
                                        : std::max<std::size_t>(64u << 20, 4 * options.body_limit)),
        ioc(std::max(options.network_threads, 1)),
        acceptor(net::make_strand(ioc)),
        pool(options.workers, options.queue_limit) {}

  ~Impl() { stop(); }

  void start();
  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  template <class Stream>
  void add_session(std::shared_ptr<Stream> session);
  void forget(SessionBase& session);
  void stop_accepting();
  /// Every session still alive, copied out under the lock.
  std::vector<std::shared_ptr<SessionBase>> live_sessions();
  void stop();

  /// Reserves `bytes` of the body budget; false when it would be exceeded.
  bool reserve(std::size_t bytes) {
    std::size_t held = body_bytes.load(std::memory_order_relaxed);
    do {
      if (held + bytes > body_budget) return false;
    } while (!body_bytes.compare_exchange_weak(held, held + bytes, std::memory_order_relaxed));
    return true;
  }
  void release(std::size_t bytes) { body_bytes.fetch_sub(bytes, std::memory_order_relaxed); }

  void request_started() { in_flight.fetch_add(1, std::memory_order_relaxed); }
  void request_finished() {
    if (in_flight.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(idle_mutex);
      idle.notify_all();
    }
  }

  ServerOptions options;
  Handler& handler;
  const std::size_t body_budget;
  unsigned short bound_port = 0;

  std::atomic<bool> closing{false};
  std::atomic<std::size_t> body_bytes{0};
  std::atomic<std::uint64_t> accepted{0}, open{0}, requests{0}, saturated{0}, timeouts{0},
      in_flight{0}, queued{0};
  std::mutex idle_mutex;
  std::condition_variable idle;

  // Declared before the io_context: sessions it still holds at destruction unregister here, and
  // their TLS streams need the SSL context.
  std::mutex sessions_mutex;
  std::list<std::weak_ptr<SessionBase>> sessions;
  std::optional<ssl::context> tls;

  net::io_context ioc;
  // Keeps the network threads running while no connection has an operation pending (every
  // request at a worker, the acceptor closed): answers are posted back to them.
  std::optional<net::executor_work_guard<net::io_context::executor_type>> keep_running;
  tcp::acceptor acceptor;
  detail::WorkerPool pool;
  std::vector<std::thread> threads;
  bool stopped = false;
  std::shared_ptr<Liveness> liveness = std::make_shared<Liveness>();
};

namespace {

/// One connection: reads requests one after another, hands each to the handler (at once or
/// through the worker pool), writes the answer, until the peer or a limit ends it.
template <class Stream>
class Session final : public SessionBase {
 public:
  Session(Server::Impl& server, Stream stream, std::string remote, bool refuse)
      : server_(server), stream_(std::move(stream)), remote_(std::move(remote)), refuse_(refuse) {}

  ~Session() override {
    if (counted_) server_.request_finished();
    if (reserved_) server_.release(reserved_);
    server_.forget(*this);
  }

  net::any_io_executor executor() override { return stream_.get_executor(); }

  void start() {
    if constexpr (is_tls) {
      lowest().expires_after(server_.options.request_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = shared()](beast::error_code ec) {
        if (ec) return self->fail(ec);
        self->after_connect();
      });
    } else {
      after_connect();
    }
  }

  void close_if_idle() override {
    if (idle_) close();
  }
  void close_now() override { close(); }

 private:
  static constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

  std::shared_ptr<Session> shared() {
    return std::static_pointer_cast<Session>(shared_from_this());
  }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void after_connect() {
    if (refuse_) {
      server_.saturated.fetch_add(1, std::memory_order_relaxed);
      return respond(saturated_response(), true);
    }
    wait_for_request();
  }

  void wait_for_request() {
    if (server_.closing.load() || closed_) return close();
    if (buffer_.size() > 0) return begin_request();  // the next request is already here
    idle_ = true;
    lowest().expires_after(server_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared()](beast::error_code ec, std::size_t n) {
                              self->idle_ = false;
                              if (ec) return self->fail(ec);
                              self->buffer_.commit(n);
                              self->begin_request();
                            });
  }

  void begin_request() {
    counted_ = true;
    server_.request_started();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_limit));
    parser_->body_limit(server_.options.body_limit);
    lowest().expires_after(server_.options.request_timeout);
    // A small request usually arrives whole in the first read: parse what is buffered at once
    // rather than through another asynchronous read (a trip through the event loop each).
    if (auto ec = parse_buffered(); ec != bhttp::error::need_more) return on_head(ec);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared()](beast::error_code ec, std::size_t) { self->on_head(ec); });
  }

  /// Feeds the buffered bytes to the parser, up to the end of the head (or of the message when
  /// `body` is set); need_more when they do not reach it.
  beast::error_code parse_buffered(bool body = false) {
    beast::error_code ec;
    while (buffer_.size() > 0) {
      auto used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec || (body ? parser_->is_done() : parser_->is_header_done())) return ec;
      if (used == 0) break;
    }
    if (body ? parser_->is_done() : parser_->is_header_done()) return {};
    return bhttp::error::need_more;
  }

  void on_head(beast::error_code ec) {
    if (ec) {
      if (ec == bhttp::error::body_limit)
        return respond(server_.handler.error(413, body_too_large()), true);
      if (ec == bhttp::error::header_limit)
        return respond(
            server_.handler.error(431, "the request's head is over " +
                                           std::to_string(server_.options.header_limit) + " bytes"),
            true);
      if (is_timeout(ec) || is_disconnect(ec)) return fail(ec);
      return respond(server_.handler.error(400, "malformed request: " + ec.message()), true);
    }
    const auto& message = parser_->get();
    if (message.count(bhttp::field::host) > 1)
      return respond(server_.handler.error(400, "malformed request: more than one Host header"),
                     true);
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    head_ = message.method() == bhttp::verb::head;
    request_ = std::make_shared<Request>();
    Request& r = *request_;
    r.method = std::string(message.method_string());
    r.target = std::string(message.target());
    auto question = r.target.find('?');
    r.path = text::percent_decode(std::string_view(r.target).substr(0, question));
    if (question != std::string::npos) r.query = r.target.substr(question + 1);
    for (const auto& field : message)
      r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    r.remote = remote_;
    r.tls = is_tls;

    bool body_pending = !parser_->is_done();
    if (auto answer = server_.handler.screen(r)) return respond(std::move(*answer), body_pending);

    auto length = parser_->content_length();
    if (length && *length > server_.options.body_limit)
      return respond(server_.handler.error(413, body_too_large()), true);
    std::size_t need = length ? static_cast<std::size_t>(*length)
                              : (body_pending ? server_.options.body_limit : 0);
    if (need && !server_.reserve(need)) {
      server_.saturated.fetch_add(1, std::memory_order_relaxed);
      return respond(saturated_response(), true);
    }
    reserved_ = need;
    if (body_pending && bhttp::token_list(message[bhttp::field::expect]).exists("100-continue"))
      return send_continue();
    read_body();
  }

  void send_continue() {
    auto interim =
        std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, version_);
    bhttp::async_write(stream_, *interim,
                       [self = shared(), interim](beast::error_code ec, std::size_t) {
                         if (ec) return self->fail(ec);
                         self->read_body();
                       });
  }

  void read_body() {
    if (parser_->is_done()) return on_body({});
    parser_->eager(true);
    if (auto ec = parse_buffered(true); ec != bhttp::error::need_more) return on_body(ec);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec) {
      if (ec == bhttp::error::body_limit)
        return respond(server_.handler.error(413, body_too_large()), true);
      if (is_timeout(ec) || is_disconnect(ec)) return fail(ec);
      return respond(server_.handler.error(400, "malformed request: " + ec.message()), true);
    }
    lowest().expires_never();
    server_.requests.fetch_add(1, std::memory_order_relaxed);
    request_->body = std::move(parser_->get().body());
    parser_.reset();
    // A chunked body reserved the whole limit; keep what it really holds.
    if (reserved_ > request_->body.size()) {
      server_.release(reserved_ - request_->body.size());
      reserved_ = request_->body.size();
    }
    if (auto answer = server_.handler.answer_now(*request_)) {
      drop_request();
      return respond(std::move(*answer));
    }
    if (taken_now()) return;
    dispatch();
  }

  /// Offers the request to the handler's take_now(); true when it took it (or failed having
  /// made the Reply, which answers 500 when dropped).
  bool taken_now() {
    bool made = false;
    std::function<Reply()> make_reply = [&] {
      made = true;
      awaiting_ = shared();
      return Reply(reply_state());
    };
    try {
      // A handler that made the Reply and still said no has taken it all the same.
      if (!server_.handler.take_now(request_, make_reply) && !made) return false;
    } catch (...) {
      if (!made) {
        drop_request();
        respond(server_.handler.error(500, handler_failure()));
      }
      return true;
    }
    request_.reset();  // the handler holds it; the body's budget is given back at respond
    return true;
  }

  void dispatch() {
    server_.queued.fetch_add(1, std::memory_order_relaxed);
    awaiting_ = shared();
    bool queued = server_.pool.try_push([self = shared(), request = request_]() mutable {
      self->server_.queued.fetch_sub(1, std::memory_order_relaxed);
      Reply reply(self->reply_state());
      try {
        self->server_.handler.handle_async(std::move(request), reply);
      } catch (...) {
        reply(self->server_.handler.error(500, handler_failure()));
      }
    });
    if (queued) {
      request_.reset();
      return;
    }
    server_.queued.fetch_sub(1, std::memory_order_relaxed);
    server_.saturated.fetch_add(1, std::memory_order_relaxed);
    awaiting_.reset();  // the caller's handler holds this session too
    drop_request();
    respond(saturated_response());
  }

  /// How a Reply answers this session's request: on the session's strand, while the server runs.
  /// The body's share of the budget is given back there too (respond), which owns that count.
  /// The Reply holds the session weakly, so that one kept past the server's end (by a handler's
  /// queue) cannot keep the session, and its socket, past the io_context's; the session holds
  /// itself (awaiting_) until it is answered or closed.
  std::shared_ptr<Reply::State> reply_state() {
    auto state = std::make_shared<Reply::State>();
    state->deliver = [weak = std::weak_ptr<Session>(shared()),
                      liveness = server_.liveness](std::optional<Response> answer) {
      // Under the lock the server cannot stop; the session, even released here, is forgotten
      // by a server that is still there.
      std::lock_guard lock(liveness->mutex);
      if (!liveness->alive) return;
      auto self = weak.lock();
      if (!self) return;
      if (!answer) answer = self->server_.handler.error(500, "the request was dropped unanswered");
      auto executor = self->executor();
      net::post(executor, [self, answer = std::move(*answer)]() mutable {
        self->respond(std::move(answer));
      });
    };
    return state;
  }

  void drop_request() {
    request_.reset();
    if (reserved_) server_.release(reserved_);
    reserved_ = 0;
  }

  Response saturated_response() {
    Response r = server_.handler.error(503, "the server is busy; try again in " +
                                                std::to_string(server_.options.retry_after) + " s");
    r.header("Retry-After", std::to_string(server_.options.retry_after));
    return r;
  }

  std::string body_too_large() const {
    return "the request's body is over the limit of " + std::to_string(server_.options.body_limit) +
           " bytes";
  }

  void respond(Response answer, bool close_after = false) {
    const auto answered = std::move(awaiting_);  // released when this returns
    if (closed_) return;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(version_ ? version_ : 11);
    res->result(static_cast<unsigned>(answer.status));
    res->set(bhttp::field::server, server_.options.server_name);
    res->set(bhttp::field::date, http_date());
    if (!answer.content_type.empty()) res->set(bhttp::field::content_type, answer.content_type);
    for (auto& [name, value] : answer.headers) res->insert(name, value);
    keep_alive_ = keep_alive_ && !close_after && !answer.close && !server_.closing.load();
    res->keep_alive(keep_alive_);
    res->body() = std::move(answer.body);
    res->prepare_payload();
    if (head_) res->body().clear();  // HEAD: the length of what GET would send, no body
    drop_request();
    lowest().expires_after(server_.options.request_timeout);
    bhttp::async_write(stream_, *res, [self = shared(), res](beast::error_code ec, std::size_t) {
      self->on_written(ec);
    });
  }

  void on_written(beast::error_code ec) {
    if (counted_) {
      counted_ = false;
      server_.request_finished();
    }
    if (ec) return fail(ec);
    if (!keep_alive_) return close();
    wait_for_request();
  }

  void fail(beast::error_code ec) {
    if (is_timeout(ec)) server_.timeouts.fetch_add(1, std::memory_order_relaxed);
    close();
  }

  void close() {
    const auto answered = std::move(awaiting_);  // a late Reply finds no session
    if (closed_) return;
    closed_ = true;
    idle_ = false;
    if (counted_) {
      counted_ = false;
      server_.request_finished();
    }
    drop_request();
    beast::error_code ignored;
    if constexpr (is_tls) {
      // Send close_notify if the peer is still there, briefly; then drop the connection.
      lowest().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = shared()](beast::error_code) {
        beast::error_code ignored;
        self->lowest().socket().close(ignored);
      });
    } else {
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      lowest().socket().close(ignored);
    }
  }

  Server::Impl& server_;
  Stream stream_;
  std::string remote_;
  bool refuse_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Request> request_;
  std::size_t reserved_ = 0;  ///< body budget held by the request being read or queued here
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  bool idle_ = false;     ///< waiting for a next request's first byte
  bool counted_ = false;  ///< a request of this connection counts as in flight
  bool closed_ = false;
  std::shared_ptr<Session> awaiting_;  ///< itself, while a Reply may answer its request
};

}  // namespace

void Server::Impl::start() {
  if (options.tls) {
    tls.emplace(ssl::context::tls_server);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::single_dh_use);
    try {
      tls->use_certificate_chain_file(options.tls->certificate.string());
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot use the TLS certificate " +
                               options.tls->certificate.string() + ": " + e.what());
    }
    try {
      tls->use_private_key_file(options.tls->key.string(), ssl::context::pem);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot use the TLS key " + options.tls->key.string() +
                               " (is it the certificate's key, PEM, unencrypted?): " + e.what());
    }
  }
  beast::error_code ec;
  auto address = net::ip::make_address(options.address, ec);
  if (ec) throw std::runtime_error("'" + options.address + "' is not an IP address to listen on");
  tcp::endpoint endpoint(address, options.port);
  auto where = [&] {
    return (address.is_v6() ? "[" + options.address + "]" : options.address) + ":" +
           std::to_string(options.port);
  };
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where() + ": " + ec.message());
  bound_port = acceptor.local_endpoint().port();
  accept();
  keep_running.emplace(ioc.get_executor());
  for (int i = 0; i < std::max(options.network_threads, 1); ++i)
    threads.emplace_back([this] {
      name_this_thread("sl-http-io");
      ioc.run();
    });
}

void Server::Impl::accept() {
  // One network thread runs every handler in turn, so connections need no strands of their own
  // (each would cost a dispatch per completion); several threads do.
  auto executor = options.network_threads > 1 ? net::any_io_executor(net::make_strand(ioc))
                                              : net::any_io_executor(ioc.get_executor());
  acceptor.async_accept(executor, [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void Server::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
  if (!ec) {
    accepted.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto remote = socket.remote_endpoint(ignored).address().to_string();
    bool refuse = open.load() >= options.max_connections;
    if (tls) {
      using Tls = beast::ssl_stream<beast::tcp_stream>;
      add_session(std::make_shared<Session<Tls>>(*this, Tls(std::move(socket), *tls),
                                                 std::move(remote), refuse));
    } else {
      add_session(std::make_shared<Session<beast::tcp_stream>>(
          *this, beast::tcp_stream(std::move(socket)), std::move(remote), refuse));
    }
  }
  // An error here (too many open files) must not stop the server; the next accept may succeed.
  if (!closing.load()) accept();
}

template <class S>
void Server::Impl::add_session(std::shared_ptr<S> session) {
  {
    std::lock_guard lock(sessions_mutex);
    sessions.push_front(session);
    session->registration = sessions.begin();
  }
  open.fetch_add(1, std::memory_order_relaxed);
  net::dispatch(session->executor(), [session] { session->start(); });
}

void Server::Impl::forget(SessionBase& session) {
  {
    std::lock_guard lock(sessions_mutex);
    sessions.erase(session.registration);
  }
  open.fetch_sub(1, std::memory_order_relaxed);
}

void Server::Impl::stop_accepting() {
  if (closing.exchange(true)) return;
  net::post(acceptor.get_executor(), [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
  });
  for (auto& s : live_sessions()) net::post(s->executor(), [s] { s->close_if_idle(); });
}

std::vector<std::shared_ptr<SessionBase>> Server::Impl::live_sessions() {
  // The copies are released by the caller after the lock: a session whose handlers finish in the
  // meantime is destroyed by the last copy, and its destructor takes the lock to forget itself.
  std::vector<std::shared_ptr<SessionBase>> live;
  std::lock_guard lock(sessions_mutex);
  for (auto& weak : sessions)
    if (auto s = weak.lock()) live.push_back(std::move(s));
  return live;
}

void Server::Impl::stop() {
  if (stopped) return;
  stopped = true;
  {
    // From here on a Reply given by a handler that still holds one does nothing.
    std::lock_guard lock(liveness->mutex);
    liveness->alive = false;
  }
  stop_accepting();
  for (auto& s : live_sessions()) net::post(s->executor(), [s] { s->close_now(); });
  pool.stop();
  // Let the closes run, then end the loop even if a peer never answers a TLS close.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (open.load() > 0 && std::chrono::steady_clock::now() < deadline && !threads.empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  keep_running.reset();
  ioc.stop();
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

Server::Server(ServerOptions options, Handler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() = default;

void Server::start() {
  impl_->start();
}

unsigned short Server::port() const noexcept {
  return impl_->bound_port;
}

std::string Server::url() const {
  const auto& a = impl_->options.address;
  bool v6 = a.find(':') != std::string::npos;
  return std::string(impl_->options.tls ? "https://" : "http://") + (v6 ? "[" + a + "]" : a) + ":" +
         std::to_string(impl_->bound_port);
}

void Server::stop_accepting() {
  impl_->stop_accepting();
}

bool Server::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->idle_mutex);
  return impl_->idle.wait_for(lock, timeout, [&] { return impl_->in_flight.load() == 0; });
}

void Server::stop() {
  impl_->stop();
}

ServerStats Server::stats() const {
  const auto& i = *impl_;
  ServerStats s;
  s.connections_accepted = i.accepted.load();
  s.connections_open = i.open.load();
  s.requests = i.requests.load();
  s.saturated = i.saturated.load();
  s.timeouts = i.timeouts.load();
  s.in_flight = i.in_flight.load();
  s.queued = i.queued.load();
  return s;
}

}  // namespace stepline::http
