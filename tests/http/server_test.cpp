// The HTTP server seen from clients: keep-alive, refusals before the body is read, size limits,
// malformed heads, slow clients that hold no worker, 503 with Retry-After when the queue or the
// body memory is full, a graceful stop, HEAD and TLS.
#include <doctest/doctest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <stepline/http/server.hpp>

#include "testkit/http_client.hpp"
#include "testkit/process.hpp"
#include "testkit/tls_files.hpp"

using namespace stepline;
using namespace stepline::test;
using namespace std::chrono_literals;

namespace {

/// Routes: /echo (the body back, on a worker), /now (on the network thread), /block (waits for
/// release()), /refuse (401 before the body is read), /throw (the handler throws), /later (kept
/// unanswered until answer_held()), /drop (handed on and dropped unanswered), /taken (kept like
/// /later, taken on the network thread), /take-throws (throws there).
class TestHandler final : public http::Handler {
 public:
  std::optional<http::Response> screen(const http::Request& head) override {
    if (head.path == "/refuse") return http::Response::text(401, "no\n");
    return std::nullopt;
  }
  std::optional<http::Response> answer_now(const http::Request& r) override {
    if (r.path == "/now") return http::Response::text(200, "now\n");
    return std::nullopt;
  }
  http::Response handle(const http::Request& r) override {
    if (r.path == "/throw") throw std::runtime_error("boom");
    if (r.path == "/block") {
      std::unique_lock lock(mutex_);
      ++blocked_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return released_; });
    }
    return http::Response::text(200, r.method + " " + r.target + " " + r.body);
  }
  bool take_now(const std::shared_ptr<const http::Request>& r,
                const std::function<http::Reply()>& reply) override {
    if (r->path == "/take-throws") throw std::runtime_error("not now");
    if (r->path != "/taken") return false;
    std::lock_guard lock(mutex_);
    held_.emplace_back(r, reply());
    changed_.notify_all();
    return true;
  }
  void handle_async(std::shared_ptr<const http::Request> r, http::Reply reply) override {
    if (r->path == "/drop") return;
    if (r->path != "/later") return reply(handle(*r));
    std::lock_guard lock(mutex_);
    held_.emplace_back(std::move(r), std::move(reply));
    changed_.notify_all();
  }
  http::Response error(int status, const std::string& message) override {
    return http::Response::json(status, "{\"error\":\"" + message + "\"}");
  }
  bool wait_held(std::size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 30s, [&] { return held_.size() >= n; });
  }
  /// The requests held so far, answered from this thread, the last first.
  void answer_held() {
    std::vector<std::pair<std::shared_ptr<const http::Request>, http::Reply>> held;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
    }
    for (auto it = held.rbegin(); it != held.rend(); ++it) {
      it->second(http::Response::text(200, "later " + it->first->body));
      it->second(http::Response::text(500, "a second answer is ignored"));
    }
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  bool wait_blocked(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 30s, [&] { return blocked_ >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int blocked_ = 0;
  bool released_ = false;
  std::vector<std::pair<std::shared_ptr<const http::Request>, http::Reply>> held_;
};

struct Running {
  explicit Running(http::ServerOptions options = {}) : server(std::move(options), handler) {
    server.start();
  }
  ~Running() {
    handler.release();
    server.stop();
  }
  int port() const { return server.port(); }
  TestHandler handler;
  http::Server server;
};

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

}  // namespace

TEST_CASE("one connection serves several requests; answers carry Server, Date and a length") {
  Running s;
  HttpConnection c(s.port());
  auto a = c.request("POST", "/echo?x=1", "hello");
  CHECK(a.status == 200);
  CHECK(a.body == "POST /echo?x=1 hello");
  CHECK(a.header("server") == "stepline");
  CHECK_FALSE(a.header("date").empty());
  auto b = c.request("GET", "/now");
  CHECK(b.status == 200);
  CHECK(b.body == "now\n");
  auto h = c.request("HEAD", "/echo");
  CHECK(h.status == 200);
  CHECK(h.header("content-length") == std::to_string(std::string("HEAD /echo ").size()));
  CHECK(c.request("GET", "/echo").status == 200);  // still in step after the HEAD
  CHECK(s.server.stats().connections_accepted == 1);
}

TEST_CASE("a refusal before the body is sent at once and the connection is closed") {
  Running s;
  HttpConnection c(s.port());
  c.send("POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
  auto r = c.read_reply(10s);
  CHECK(r.status == 401);
  CHECK(r.header("connection") == "close");
  CHECK(c.closed_by_peer(10s));
}

TEST_CASE("a body over the limit is refused with 413, announced or chunked") {
  http::ServerOptions o;
  o.body_limit = 1000;
  Running s(o);
  {
    HttpConnection c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n");
    auto r = c.read_reply(10s);
    CHECK(r.status == 413);
    CHECK(r.body.find("limit of 1000 bytes") != std::string::npos);
  }
  {
    HttpConnection c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.send("3e8\r\n" + std::string(1000, 'a') + "\r\n10\r\n" + std::string(16, 'b') +
           "\r\n0\r\n\r\n");
    CHECK(c.read_reply(10s).status == 413);
  }
  CHECK(http_request(s.port(), "POST", "/echo", std::string(1000, 'c')).status == 200);
}

TEST_CASE("malformed heads get 400, oversized ones 431, and the connection is closed") {
  http::ServerOptions o;
  o.header_limit = 2048;
  Running s(o);
  {
    HttpConnection c(s.port());
    c.send("GARBAGE\r\n\r\n");
    auto r = c.read_reply(10s);
    CHECK(r.status == 400);
    CHECK(r.body.find("malformed request") != std::string::npos);
    CHECK(c.closed_by_peer(10s));
  }
  {
    HttpConnection c(s.port());
    c.send("GET /echo HTTP/1.1\r\nHost: x\r\nBad Header Name: y\r\n\r\n");
    CHECK(c.read_reply(10s).status == 400);
  }
  {
    HttpConnection c(s.port());
    c.send("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'x') + "\r\n\r\n");
    CHECK(c.read_reply(10s).status == 431);
  }
  {
    HttpConnection c(s.port());
    c.send("GET /echo HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n");
    auto r = c.read_reply(10s);
    CHECK(r.status == 400);
    CHECK(r.body.find("more than one Host header") != std::string::npos);
  }
  CHECK(http_request(s.port(), "GET", "/echo").status == 200);
}

TEST_CASE("a client sending a byte a second holds no worker and is cut off after the timeout") {
  http::ServerOptions o;
  o.workers = 1;
  o.request_timeout = 3s;
  Running s(o);
  HttpConnection slow(s.port());
  std::atomic<bool> stop{false};
  std::thread dribble([&] {
    std::string request = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
    try {
      for (char ch : request + std::string(100, 'z')) {
        if (stop) return;
        slow.send(std::string(1, ch));
        std::this_thread::sleep_for(1s);
      }
    } catch (const HttpClientError&) {
      // the server closed the connection: expected
    }
  });
  // Meanwhile the one worker serves everyone else at once.
  for (int i = 0; i < 5; ++i) {
    auto started = std::chrono::steady_clock::now();
    CHECK(http_request(s.port(), "POST", "/echo", "quick").status == 200);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
  }
  CHECK(eventually([&] { return s.server.stats().timeouts >= 1; }));
  stop = true;
  dribble.join();
  CHECK(slow.closed_by_peer(10s));
}

TEST_CASE("an idle keep-alive connection is closed after idle_timeout") {
  http::ServerOptions o;
  o.idle_timeout = 1s;
  Running s(o);
  HttpConnection c(s.port());
  CHECK(c.request("GET", "/now").status == 200);
  CHECK(c.closed_by_peer(20s));
}

TEST_CASE("when the queue is full the server answers 503 with Retry-After, and recovers") {
  http::ServerOptions o;
  o.workers = 1;
  o.queue_limit = 2;
  o.retry_after = 7;
  Running s(o);
  std::vector<std::future<HttpReply>> waiting;
  waiting.push_back(
      std::async(std::launch::async, [&] { return http_request(s.port(), "GET", "/block"); }));
  REQUIRE(s.handler.wait_blocked(1));
  for (int i = 0; i < 2; ++i)
    waiting.push_back(
        std::async(std::launch::async, [&] { return http_request(s.port(), "GET", "/block"); }));
  REQUIRE(eventually([&] { return s.server.stats().queued == 2; }));
  auto refused = http_request(s.port(), "GET", "/echo");
  CHECK(refused.status == 503);
  CHECK(refused.header("retry-after") == "7");
  CHECK(refused.body.find("busy") != std::string::npos);
  CHECK(s.server.stats().saturated == 1);
  s.handler.release();
  for (auto& f : waiting) CHECK(f.get().status == 200);
  CHECK(http_request(s.port(), "GET", "/echo").status == 200);
}

TEST_CASE("bodies held at once stay within the body memory: the next big one gets 503") {
  http::ServerOptions o;
  o.body_limit = 40000;
  o.body_memory = 64000;
  Running s(o);
  // A body announced and not yet sent holds its share of the budget.
  HttpConnection first(s.port());
  first.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 40000\r\n\r\n");
  REQUIRE(eventually([&] { return s.server.stats().in_flight == 1; }));
  HttpConnection second(s.port());
  second.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 30000\r\n\r\n");
  auto r = second.read_reply(10s);
  CHECK(r.status == 503);
  CHECK(r.header("retry-after") == "1");
  // Small bodies still fit beside it.
  CHECK(http_request(s.port(), "POST", "/echo", std::string(20000, 's')).status == 200);
  first.send(std::string(40000, 'f'));
  auto done = first.read_reply(10s);
  CHECK(done.status == 200);
  CHECK(done.body.size() == std::string("POST /echo ").size() + 40000);
  CHECK(http_request(s.port(), "POST", "/echo", std::string(30000, 't')).status == 200);
}

TEST_CASE("Expect: 100-continue gets the interim answer, then the reply") {
  Running s;
  HttpConnection c(s.port());
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  c.send("abcd");
  auto r = c.read_reply(10s);
  CHECK(r.status == 200);
  CHECK(r.body == "POST /echo abcd");
}

TEST_CASE("a handler that throws gives 500 through error()") {
  Running s;
  auto r = http_request(s.port(), "GET", "/throw");
  CHECK(r.status == 500);
  CHECK(r.body == "{\"error\":\"the request failed: boom\"}");
}

TEST_CASE("a handler answering later frees its worker; a request dropped unanswered gets 500") {
  http::ServerOptions o;
  o.workers = 1;
  Running s(o);
  // Ten requests held at once by a server with one worker: each was handed on and the worker
  // went on to the next.
  std::vector<std::unique_ptr<HttpConnection>> connections;
  std::vector<std::future<HttpReply>> replies;
  for (int i = 0; i < 10; ++i) {
    connections.push_back(std::make_unique<HttpConnection>(s.port()));
    replies.push_back(std::async(std::launch::async, [&c = *connections.back(), i] {
      return c.request("POST", "/later", std::to_string(i));
    }));
  }
  REQUIRE(s.handler.wait_held(10));
  CHECK(s.server.stats().in_flight == 10);
  CHECK(s.server.stats().saturated == 0);
  std::thread([&] { s.handler.answer_held(); }).join();
  for (int i = 0; i < 10; ++i) {
    auto r = replies[i].get();
    CHECK(r.status == 200);
    CHECK(r.body == "later " + std::to_string(i));
  }
  // The connections go on; the next request is answered at once.
  CHECK(connections[3]->request("POST", "/echo", "x").body == "POST /echo x");
  auto dropped = http_request(s.port(), "GET", "/drop");
  CHECK(dropped.status == 500);
  CHECK(dropped.body == "{\"error\":\"the request was dropped unanswered\"}");
  CHECK(eventually([&] { return s.server.stats().in_flight == 0; }));
}

TEST_CASE("a request taken on the network thread needs no worker; one whose taking throws gets 500") {
  http::ServerOptions o;
  o.workers = 1;
  Running s(o);
  auto busy =
      std::async(std::launch::async, [&] { return http_request(s.port(), "GET", "/block"); });
  REQUIRE(s.handler.wait_blocked(1));
  // The one worker is blocked: what is taken now is held all the same, and answered later.
  auto taken = std::async(std::launch::async,
                          [&] { return http_request(s.port(), "POST", "/taken", "t"); });
  REQUIRE(s.handler.wait_held(1));
  s.handler.answer_held();
  auto r = taken.get();
  CHECK(r.status == 200);
  CHECK(r.body == "later t");
  auto thrown = http_request(s.port(), "GET", "/take-throws");
  CHECK(thrown.status == 500);
  CHECK(thrown.body == "{\"error\":\"the request failed: not now\"}");
  s.handler.release();
  CHECK(busy.get().status == 200);
}

TEST_CASE("an answer given after the server stopped goes nowhere") {
  auto s = std::make_unique<Running>();
  HttpConnection c(s->port());
  c.send("POST /later HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\n1");
  REQUIRE(s->handler.wait_held(1));
  s->server.stop();
  CHECK(c.closed_by_peer(10s));
  s->handler.answer_held();  // to a session the stopped server closed: nothing happens
  s.reset();
}

TEST_CASE("connections beyond max_connections get 503 and are closed") {
  http::ServerOptions o;
  o.max_connections = 2;
  Running s(o);
  HttpConnection a(s.port()), b(s.port());
  CHECK(a.request("GET", "/now").status == 200);
  CHECK(b.request("GET", "/now").status == 200);
  HttpConnection c(s.port());
  auto r = c.read_reply(10s);
  CHECK(r.status == 503);
  CHECK(c.closed_by_peer(10s));
}

TEST_CASE("stopping: in-flight requests finish with Connection: close, idle ones are closed") {
  Running s;
  HttpConnection idle(s.port());
  CHECK(idle.request("GET", "/now").status == 200);
  auto busy =
      std::async(std::launch::async, [&] { return http_request(s.port(), "GET", "/block"); });
  REQUIRE(s.handler.wait_blocked(1));
  s.server.stop_accepting();
  CHECK(idle.closed_by_peer(10s));
  CHECK_FALSE(s.server.wait_idle(200ms));
  s.handler.release();
  auto r = busy.get();
  CHECK(r.status == 200);
  CHECK(r.header("connection") == "close");
  CHECK(s.server.wait_idle(10s));
  CHECK(eventually([&] { return !port_open(s.port()); }));
}

TEST_CASE("over TLS, with the certificate and key files") {
  TempDir dir("stepline-http-tls-");
  auto files = make_tls_files(dir.path());
  http::ServerOptions o;
  o.tls = http::TlsFiles{files.server_cert, files.server_key};
  Running s(o);
  CHECK(s.server.url() == "https://127.0.0.1:" + std::to_string(s.port()));
  auto out = capture({"curl", "-sS", "--max-time", "20", "--cacert", files.ca_cert, "-d", "secret",
                      "https://localhost:" + std::to_string(s.port()) + "/echo"});
  CHECK_MESSAGE(out.status == 0, out.output);
  CHECK(out.output == "POST /echo secret");
  // Plain HTTP to the TLS port is not answered as HTTP.
  HttpConnection plain(s.port());
  plain.send("GET /now HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(plain.closed_by_peer(10s));
}

TEST_CASE("a certificate that cannot be read stops start() with the file's name") {
  TempDir dir("stepline-http-tls-");
  http::ServerOptions o;
  o.tls = http::TlsFiles{dir.path() / "missing.pem", dir.path() / "key.pem"};
  TestHandler handler;
  http::Server server(o, handler);
  try {
    server.start();
    FAIL("start() should throw");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("missing.pem") != std::string::npos);
  }
}

TEST_CASE("an address in use is reported with the address") {
  Running s;
  http::ServerOptions o;
  o.port = s.port();
  TestHandler handler;
  http::Server second(o, handler);
  auto address = "127.0.0.1:" + std::to_string(s.port());
  CHECK_THROWS_WITH(second.start(), doctest::Contains(address.c_str()));
}
