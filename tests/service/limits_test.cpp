// The intake under pressure: a full queue answers 503 with Retry-After and the host's memory
// stays bounded however much is offered; a client sending a byte a second holds no worker.
#include <doctest/doctest.h>

#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "service/serve_fixture.hpp"

using namespace stepline::test;

namespace {

const std::string limits_registration = R"(http:
  listen: 127.0.0.1:0
  workers: 1
  queue: 2
  request_timeout: 3s
plugins:
  - file: service_plugins.so
steps:
  - name: Sleep
    message: tests_Sleep
    stage: post-operation
    handler: {plugin: Tests.Sleep}
    configuration: "3000"
  - name: Echo
    message: tests_Echo
    stage: post-operation
    handler: {plugin: Tests.Echo}
)";

}  // namespace

TEST_CASE("a full queue answers 503 with Retry-After in Dataverse's shape, then recovers") {
  Served s(limits_registration);
  std::vector<std::future<HttpReply>> busy;
  for (int i = 0; i < 4; ++i) {
    busy.push_back(std::async(
        std::launch::async, [&] { return s.request("POST", "/api/data/v9.2/tests_Sleep", "{}"); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  // One sleeping in the host's intake (the first, submitted while it was idle), the next at the
  // worker (the intake is held up by the first), two waiting: the next is refused at once.
  HttpReply refused;
  REQUIRE(eventually([&] {
    refused = s.request("POST", "/api/data/v9.2/tests_Echo", "{}");
    return refused.status == 503;
  }));
  CHECK(refused.header("retry-after") == "1");
  CHECK(refused.body.find("\"code\":\"0x80072326\"") != std::string::npos);
  for (auto& f : busy) CHECK(f.get().status == 204);
  CHECK(s.request("POST", "/api/data/v9.2/tests_Echo", "{}").status == 200);
}

namespace {

/// The environment for a host whose memory is measured: under AddressSanitizer (./dev sanitize)
/// freed blocks would wait in its quarantine instead of being reused, so it gets none.
std::map<std::string, std::string> measurable() {
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::string options = asan ? std::string(asan) + ":" : "";
  return {{"ASAN_OPTIONS", options + "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"}};
}

}  // namespace

TEST_CASE("memory stays bounded when far more is offered than the host takes") {
  Served s(limits_registration, measurable());
  auto before = resident_kib(s.pid());
  REQUIRE(before > 0);
  // 400 clients at once, each with a 256 KiB body: 100 MiB offered to one busy worker.
  const std::string body = "{\"Text\":\"" + std::string(256 * 1024 - 12, 'x') + "\"}";
  std::mutex mutex;
  std::map<int, int> statuses;  // 0: the connection was closed before a body it would not hold
  std::vector<std::thread> clients;
  for (int i = 0; i < 400; ++i)
    clients.emplace_back([&] {
      int status = 0;
      try {
        status = s.request("POST", "/api/data/v9.2/tests_Sleep", body).status;
      } catch (const HttpClientError&) {
      }
      std::lock_guard lock(mutex);
      ++statuses[status];
    });
  for (auto& c : clients) c.join();
  auto after = resident_kib(s.pid());
  std::string counts;
  for (const auto& [status, n] : statuses)
    counts += std::to_string(status) + ": " + std::to_string(n) + "  ";
  CAPTURE(counts);
  // Every client is answered: served, or refused (503, or closed before its body was read).
  CHECK(statuses[204] + statuses[503] + statuses[0] == 400);
  // The host takes the few that fit (its worker, the queue's two, and those that reached the
  // intake's first batch in its first 10 ms: 7-10 here, more on a faster machine) and refuses
  // the rest at once.
  CHECK(statuses[503] + statuses[0] >= 300);
  CHECK(statuses[204] >= 1);
  // What the host held: the queue's few bodies and buffers, never the 100 MiB offered.
  CHECK_MESSAGE(after - before < 64 * 1024,
                "resident grew from " << before << " to " << after << " KiB");
}

TEST_CASE("a client sending a byte a second holds no worker and is disconnected") {
  Served s(limits_registration);
  HttpConnection slow(s.port());
  std::atomic<bool> stop{false};
  std::thread dribble([&] {
    std::string request = "POST /api/data/v9.2/tests_Echo HTTP/1.1\r\nHost: x\r\n\r\n";
    try {
      for (char ch : request) {
        if (stop) return;
        slow.send(std::string(1, ch));
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
    } catch (const HttpClientError&) {
    }
  });
  // The only worker answers everyone else at once meanwhile.
  for (int i = 0; i < 4; ++i) {
    auto started = std::chrono::steady_clock::now();
    CHECK(s.request("POST", "/api/data/v9.2/tests_Echo", "{}").status == 200);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
  }
  CHECK(slow.closed_by_peer(std::chrono::seconds(30)));
  stop = true;
  dribble.join();
}

TEST_CASE("malformed heads get 400 and the host goes on") {
  Served s(limits_registration);
  HttpConnection c(s.port());
  c.send("POST /api/data/v9.2/tests_Echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
  auto r = c.read_reply(std::chrono::seconds(30));
  CHECK(r.status == 400);
  CHECK(r.body.find("malformed request") != std::string::npos);
  HttpConnection d(s.port());
  d.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad\x01Name: y\r\n\r\n");
  CHECK(d.read_reply(std::chrono::seconds(30)).status == 400);
  CHECK(s.request("GET", "/healthz").status == 200);
}
