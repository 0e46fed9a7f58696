// The backend against the in-process test peer: window, outcomes, reconnects, CBS, two-way,
// event hub partition keys, TLS verification and shutdown.
#include <doctest/doctest.h>

#include <algorithm>
#include <thread>

#include <proton/annotation_key.hpp>
#include <proton/message_id.hpp>
#include <proton/scalar.hpp>
#include <proton/value.hpp>

#include <stepline/azure/sas_token.hpp>
#include <stepline/host/amqp/backend.hpp>

#include "amqp/targets.hpp"
#include "testkit/process.hpp"
#include "testkit/test_peer.hpp"
#include "testkit/tls_files.hpp"

using namespace stepline;
using namespace stepline::host::amqp;
using test::make_target;
using test::one_way;
using test::TestPeer;
using test::TestPeerOptions;
using test::text_message;
using test::two_way;

namespace {

std::string body_of(const proton::message& m) {
  return m.body().type() == proton::STRING ? proton::get<std::string>(m.body())
                                           : proton::to_string(m.body());
}

Outcome wait(std::future<Outcome>& f, std::chrono::seconds limit = std::chrono::seconds(20)) {
  REQUIRE(f.wait_for(limit) == std::future_status::ready);
  return f.get();
}

BackendOptions quick_options() {
  BackendOptions o;
  o.reconnect_delay = std::chrono::milliseconds(50);
  o.max_reconnect_delay = std::chrono::milliseconds(400);
  return o;
}

}  // namespace

TEST_CASE("posts through CBS are accepted in order and each audience gets a verified token") {
  TestPeer peer({.cbs_keys = {{"send", "key"}}});
  Backend backend(quick_options());
  auto orders = make_target(peer.connection_string(), "orders");
  auto audit = make_target(peer.connection_string(), "audit");
  std::vector<std::future<Outcome>> outcomes;
  for (int i = 0; i < 20; ++i)
    outcomes.push_back(backend.post(i % 2 ? audit : orders, text_message("m" + std::to_string(i))));
  for (auto& f : outcomes) CHECK(wait(f).ok());

  auto received = peer.messages();
  REQUIRE(received.size() == 20);
  std::vector<std::string> to_orders;
  for (auto& m : received)
    if (m.to() == "orders") to_orders.push_back(body_of(m));
  CHECK(to_orders ==
        std::vector<std::string>{"m0", "m2", "m4", "m6", "m8", "m10", "m12", "m14", "m16", "m18"});

  auto tokens = peer.put_tokens();
  std::sort(tokens.begin(), tokens.end());
  std::string prefix = "sb://127.0.0.1:" + std::to_string(peer.port()) + "/";
  CHECK(tokens == std::vector<std::pair<std::string, int>>{{prefix + "audit", 200},
                                                           {prefix + "orders", 200}});
  auto stats = backend.stats();
  CHECK(stats.connections_opened == 1);  // one connection per namespace and credential
  CHECK(stats.accepted == 20);
}

TEST_CASE(
    "a refused token is retried once with a fresh token, then the post fails as unauthorized") {
  TestPeer peer({.cbs_keys = {{"send", "key"}}});
  Backend backend(quick_options());
  auto f = backend.post(make_target(peer.connection_string("send", "wrong"), "orders"),
                        text_message("x"));
  Outcome o = wait(f);
  CHECK(o.status == OutcomeStatus::permanent);
  CHECK(o.condition == "amqp:unauthorized-access");
  CHECK(o.description.find("endpoint 'test-orders'") != std::string::npos);
  CHECK(o.description.find("wrong") == std::string::npos);  // no secret in the message
  CHECK(peer.put_tokens().size() == 2);
  CHECK(peer.messages().empty());
}

TEST_CASE("a SharedAccessSignature connection string sends its token as given") {
  TestPeer peer({.cbs_keys = {{"send", "key"}}});
  std::string ns = "sb://127.0.0.1:" + std::to_string(peer.port()) + "/";
  std::string token = azure::create_sas_token(ns, "send", "key");
  Backend backend(quick_options());
  auto target = make_target(
      "Endpoint=" + ns + ";SharedAccessSignature=" + token + ";UseDevelopmentEmulator=true",
      "orders");
  auto f = backend.post(target, text_message("signed"));
  CHECK(wait(f).ok());
  REQUIRE(peer.put_tokens().size() == 1);
  CHECK(peer.put_tokens()[0].first == ns + "orders");
}

TEST_CASE("tokens are renewed before they expire") {
  TestPeer peer({.cbs_keys = {{"send", "key"}}});
  BackendOptions options = quick_options();
  options.token_validity = std::chrono::seconds(3);
  options.token_renew_before = std::chrono::seconds(2);  // renew one second after each put
  Backend backend(options);
  auto f = backend.post(make_target(peer.connection_string(), "orders"), text_message("x"));
  CHECK(wait(f).ok());
  CHECK(TestPeer::wait_for([&] { return peer.put_tokens().size() >= 3; }, std::chrono::seconds(5)));
  for (auto& [audience, status] : peer.put_tokens()) CHECK(status == 200);
}

TEST_CASE(
    "no more than the window is ever unsettled on a link, and a full window makes post() wait") {
  TestPeer peer({.hold_settlement = true});
  BackendOptions options = quick_options();
  options.window = 8;
  Backend backend(options);
  auto target = make_target(peer.connection_string(), "orders");
  std::vector<std::future<Outcome>> outcomes;
  std::atomic<int> returned{0};
  std::thread poster([&] {
    for (int i = 0; i < 20; ++i) {
      outcomes.push_back(backend.post(target, text_message(std::to_string(i))));
      ++returned;
    }
  });
  CHECK(TestPeer::wait_for([&] { return peer.unsettled() == 8; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(peer.unsettled() == 8);
  CHECK(returned.load() == 8);  // the ninth post waits for room
  while (returned.load() < 20) {
    peer.settle_held();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  poster.join();
  CHECK(TestPeer::wait_for([&] {
    peer.settle_held();
    return peer.messages().size() == 20 && peer.unsettled() == 0;
  }));
  for (auto& f : outcomes) CHECK(wait(f).ok());
  CHECK(peer.max_unsettled() == 8);
  CHECK(backend.stats().max_unsettled <= 8);
}

TEST_CASE("rejections are classified by their condition") {
  SUBCASE("server-busy is transient") {
    TestPeer peer({.reject_condition = "com.microsoft:server-busy"});
    Backend backend(quick_options());
    auto f = backend.post(make_target(peer.connection_string(), "orders"), text_message("x"));
    Outcome o = wait(f);
    CHECK(o.status == OutcomeStatus::transient);
    CHECK(o.condition == "com.microsoft:server-busy");
  }
  SUBCASE("message-size-exceeded is permanent") {
    TestPeer peer({.reject_condition = "amqp:link:message-size-exceeded"});
    Backend backend(quick_options());
    auto f = backend.post(make_target(peer.connection_string(), "orders"), text_message("x"));
    Outcome o = wait(f);
    CHECK(o.status == OutcomeStatus::permanent);
    CHECK(o.condition == "amqp:link:message-size-exceeded");
    CHECK(o.description.find("'orders'") != std::string::npos);
  }
  SUBCASE("released is transient") {
    TestPeer peer({.release = true});
    Backend backend(quick_options());
    auto f = backend.post(make_target(peer.connection_string(), "orders"), text_message("x"));
    Outcome o = wait(f);
    CHECK(o.status == OutcomeStatus::transient);
    CHECK(o.condition == local_condition::released);
  }
}

TEST_CASE("an entity the service cannot find fails every queued post as permanent not-found") {
  TestPeer peer({.missing = {"nowhere"}});
  Backend backend(quick_options());
  auto target = make_target(peer.connection_string(), "nowhere");
  auto a = backend.post(target, text_message("a"));
  auto b = backend.post(target, text_message("b"));
  for (auto* f : {&a, &b}) {
    Outcome o = wait(*f);
    CHECK(o.status == OutcomeStatus::permanent);
    CHECK(o.condition == "amqp:not-found");
    CHECK(o.description.find("'nowhere'") != std::string::npos);
  }
  // Other entities on the same connection are unaffected.
  auto c = backend.post(make_target(peer.connection_string(), "orders"), text_message("c"));
  CHECK(wait(c).ok());
}

TEST_CASE("an unreachable namespace fails the post as transient once its timeout passes") {
  int port = test::free_port();
  Backend backend(quick_options());
  auto target =
      make_target("Endpoint=sb://127.0.0.1:" + std::to_string(port) +
                      "/;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true",
                  "orders", Auth::cbs, one_way, std::chrono::milliseconds(700));
  auto f = backend.post(target, text_message("x"));
  Outcome o = wait(f);
  CHECK(o.status == OutcomeStatus::transient);
  CHECK(o.condition == local_condition::network);
  CHECK(o.description.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE(
    "a forced close fails unsettled posts as transient and the next posts go through a new "
    "connection") {
  TestPeer peer({.hold_settlement = true});
  Backend backend(quick_options());
  auto target = make_target(peer.connection_string(), "orders");
  auto held = backend.post(target, text_message("held"));
  REQUIRE(TestPeer::wait_for([&] { return peer.unsettled() == 1; }));
  peer.force_close();
  Outcome o = wait(held);
  CHECK(o.status == OutcomeStatus::transient);
  CHECK(o.condition == "amqp:connection:forced");
  auto after = backend.post(target, text_message("after"));
  REQUIRE(TestPeer::wait_for([&] {
    peer.settle_held();
    return after.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready;
  }));
  CHECK(after.get().ok());
  CHECK(backend.stats().connections_opened == 2);
}

TEST_CASE("a server that accepts TCP but never speaks AMQP is dropped after the connect timeout") {
  test::SilentListener silent;
  BackendOptions options = quick_options();
  options.connect_timeout = std::chrono::milliseconds(300);
  Backend backend(options);
  auto target =
      make_target("Endpoint=sb://127.0.0.1:" + std::to_string(silent.port()) +
                      "/;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true",
                  "orders", Auth::cbs, one_way, std::chrono::milliseconds(1500));
  auto f = backend.post(target, text_message("x"));
  Outcome o = wait(f);
  CHECK(o.status == OutcomeStatus::transient);
  CHECK(o.description.find("no AMQP open within 300 ms") != std::string::npos);
  CHECK(silent.accepted() >= 2);  // it gave up on the first connection and tried again
}

TEST_CASE("a forced detach fails unsettled posts as transient and the link is attached again") {
  TestPeer peer({.hold_settlement = true});
  Backend backend(quick_options());
  auto target = make_target(peer.connection_string(), "orders");
  auto held = backend.post(target, text_message("held"));
  REQUIRE(TestPeer::wait_for([&] { return peer.unsettled() == 1; }));
  peer.detach_senders("amqp:link:detach-forced");
  Outcome o = wait(held);
  CHECK(o.status == OutcomeStatus::transient);
  CHECK(o.condition == "amqp:link:detach-forced");
  auto after = backend.post(target, text_message("after"));
  REQUIRE(TestPeer::wait_for([&] {
    peer.settle_held();
    return after.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready;
  }));
  CHECK(after.get().ok());
  CHECK(backend.stats().connections_opened == 1);  // the connection survived
}

TEST_CASE("a link detached as unauthorized gets a fresh token and its unsettled posts are resent") {
  TestPeer peer({.hold_settlement = true, .cbs_keys = {{"send", "key"}}});
  Backend backend(quick_options());
  auto target = make_target(peer.connection_string(), "orders");
  auto held = backend.post(target, text_message("expired"));
  REQUIRE(TestPeer::wait_for([&] { return peer.unsettled() == 1; }));
  peer.detach_senders("amqp:unauthorized-access");
  REQUIRE(TestPeer::wait_for([&] {
    peer.settle_held();
    return held.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready;
  }));
  CHECK(held.get().ok());
  CHECK(peer.put_tokens().size() == 2);
  auto received = peer.messages();
  REQUIRE(received.size() == 2);  // sent, detached unsettled, sent again
  CHECK(body_of(received[1]) == "expired");
}

TEST_CASE("a two-way post returns the listener's reply, and times out when none comes") {
  TestPeer peer;
  Backend backend(quick_options());
  auto twoway = make_target(peer.connection_string(), "responder", Auth::cbs, two_way);
  auto f = backend.post(twoway, text_message("hello"));
  Outcome o = wait(f);
  CHECK(o.ok());
  CHECK(o.reply == "reply:hello");
  auto sent = peer.messages();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].reply_to().rfind("dynamic-", 0) == 0);
  CHECK_FALSE(sent[0].id().empty());

  auto silent = make_target(peer.connection_string(), "nobody", Auth::cbs, two_way,
                            std::chrono::milliseconds(500));
  auto g = backend.post(silent, text_message("anyone?"));
  Outcome none = wait(g);
  CHECK(none.status == OutcomeStatus::transient);
  CHECK(none.condition == local_condition::timeout);
  CHECK(none.description.find("no reply") != std::string::npos);
}

TEST_CASE("a message the caller encoded is sent as its bytes; a two-way link decodes it first") {
  TestPeer peer;
  Backend backend(quick_options());
  proton::message m = text_message("encoded");
  m.id(std::string("id-1"));
  m.subject("Update:account");
  m.properties().put("stepline.entity", "account");
  const std::vector<char> bytes = m.encode();
  auto f = backend.post(make_target(peer.connection_string(), "orders"),
                        EncodedMessage{std::string(bytes.begin(), bytes.end())});
  CHECK(wait(f).ok());
  auto twoway = make_target(peer.connection_string(), "responder", Auth::cbs, two_way);
  auto g = backend.post(twoway, EncodedMessage{std::string(bytes.begin(), bytes.end())});
  Outcome o = wait(g);
  CHECK(o.ok());
  CHECK(o.reply == "reply:encoded");

  auto received = peer.messages();
  REQUIRE(received.size() == 2);
  for (auto& r : received) {
    CHECK(body_of(r) == "encoded");
    CHECK(proton::to_string(r.id()) == "id-1");
    CHECK(r.subject() == "Update:account");
    CHECK(proton::get<std::string>(r.properties().get("stepline.entity")) == "account");
  }
  CHECK(received[0].reply_to().empty());
  CHECK(received[1].reply_to().rfind("dynamic-", 0) == 0);
  CHECK(backend.stats().accepted == 2);
}

TEST_CASE("a two-way post can name a fixed reply address") {
  TestPeer peer;
  Backend backend(quick_options());
  auto twoway = make_target(peer.connection_string(), "responder", Auth::cbs, two_way);
  twoway.reply_to = "replies/host-1";
  auto f = backend.post(twoway, text_message("ping"));
  Outcome o = wait(f);
  CHECK(o.ok());
  CHECK(o.reply == "reply:ping");
  REQUIRE(peer.messages().size() == 1);
  CHECK(peer.messages()[0].reply_to() == "replies/host-1");
}

TEST_CASE("heartbeats keep an idle connection open for a peer with a short idle timeout") {
  TestPeer peer({.idle_timeout = std::chrono::milliseconds(300)});
  Backend backend(quick_options());
  auto target = make_target(peer.connection_string(), "orders");
  auto first = backend.post(target, text_message("first"));
  CHECK(wait(first).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // five idle timeouts
  auto second = backend.post(target, text_message("second"));
  CHECK(wait(second).ok());
  CHECK(backend.stats().connections_opened == 1);
}

TEST_CASE("amqps verifies the server against the given CA and refuses it without") {
  test::TempDir dir("stepline-tls-");
  auto files = test::make_tls_files(dir.path());
  TestPeer peer({.tls_cert = files.server_cert, .tls_key = files.server_key});
  auto target = make_target(peer.connection_string("send", "key", "localhost"), "orders");
  REQUIRE(target.connection.uses_tls());
  {
    BackendOptions options = quick_options();
    options.ca_file = files.ca_cert;
    Backend backend(options);
    auto f = backend.post(target, text_message("over tls"));
    CHECK(wait(f).ok());
  }
  {
    Backend backend(quick_options());  // the system store does not know the test CA
    auto f = backend.post(target, text_message("untrusted"));
    Outcome o = wait(f);
    CHECK_FALSE(o.ok());
    CHECK(o.status == OutcomeStatus::permanent);
    CHECK(o.condition == local_condition::tls);
  }
  CHECK(peer.messages().size() == 1);
}

TEST_CASE("plain amqp:// is refused unless the backend allows it") {
  TestPeer peer;
  auto target = make_target("Endpoint=amqp://127.0.0.1:" + std::to_string(peer.port()) +
                                "/;SharedAccessKeyName=send;SharedAccessKey=key",
                            "orders");
  {
    Backend backend(quick_options());
    auto f = backend.post(target, text_message("x"));
    Outcome o = wait(f);
    CHECK(o.status == OutcomeStatus::permanent);
    CHECK(o.condition == local_condition::configuration);
    CHECK(o.description.find("UseDevelopmentEmulator=true") != std::string::npos);
    auto keyless =
        make_target("Endpoint=sb://127.0.0.1:" + std::to_string(peer.port()) + "/", "orders");
    auto g = backend.post(keyless, text_message("x"));
    Outcome none = wait(g);
    CHECK(none.condition == local_condition::configuration);
    CHECK(none.description.find("neither SharedAccessKey nor SharedAccessSignature") !=
          std::string::npos);
  }
  BackendOptions options = quick_options();
  options.allow_plain_amqp = true;
  Backend backend(options);
  auto f = backend.post(target, text_message("x"));
  CHECK(wait(f).ok());
}

TEST_CASE("shutdown completes every pending post: settled ones as accepted, the rest as shutdown") {
  TestPeer peer({.hold_settlement = true});
  Backend backend(quick_options());
  auto target = make_target(peer.connection_string(), "orders");
  std::vector<std::future<Outcome>> outcomes;
  for (int i = 0; i < 10; ++i)
    outcomes.push_back(backend.post(target, text_message(std::to_string(i))));
  REQUIRE(TestPeer::wait_for([&] { return peer.unsettled() == 10; }));
  backend.shutdown(std::chrono::milliseconds(300));
  for (auto& f : outcomes) {
    Outcome o = wait(f, std::chrono::seconds(1));
    CHECK(o.status == OutcomeStatus::shutdown);
    CHECK(o.condition == local_condition::shutdown);
  }
  auto late = backend.post(target, text_message("late"));
  CHECK(wait(late, std::chrono::seconds(1)).status == OutcomeStatus::shutdown);
}

TEST_CASE("shutdown detaches the links and closes the connection instead of dropping it") {
  TestPeer peer;
  Backend backend(quick_options());
  auto f = backend.post(make_target(peer.connection_string(), "orders"), text_message("x"));
  REQUIRE(wait(f).ok());
  backend.shutdown();
  CHECK(TestPeer::wait_for([&] { return peer.closed_connections() == 1; }));
  CHECK(peer.dropped_connections() == 0);
  CHECK(peer.closed_links() == 3);  // the sender on orders, $cbs's sender and receiver
}

TEST_CASE("shutdown drops a connection whose service does not answer the close in time") {
  test::SilentListener silent;  // accepts TCP and never answers: the close is never answered
  BackendOptions options = quick_options();
  options.close_timeout = std::chrono::milliseconds(200);
  Backend backend(options);
  auto f = backend.post(
      make_target("Endpoint=sb://127.0.0.1:" + std::to_string(silent.port()) +
                      "/;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true",
                  "orders", Auth::cbs, one_way, std::chrono::seconds(60)),
      text_message("x"));
  REQUIRE(TestPeer::wait_for([&] { return silent.accepted() == 1; }));
  const auto started = std::chrono::steady_clock::now();
  backend.shutdown(std::chrono::milliseconds(0));
  // Without the deadline it would wait for ever; the bound here only has to be generous.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
  CHECK(wait(f, std::chrono::seconds(1)).status == OutcomeStatus::shutdown);
}

TEST_CASE("shutdown waits for posts the service settles within the grace period") {
  TestPeer peer({.hold_settlement = true});
  Backend backend(quick_options());
  auto target = make_target(peer.connection_string(), "orders");
  std::vector<std::future<Outcome>> outcomes;
  for (int i = 0; i < 5; ++i)
    outcomes.push_back(backend.post(target, text_message(std::to_string(i))));
  REQUIRE(TestPeer::wait_for([&] { return peer.unsettled() == 5; }));
  std::thread settler([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    peer.settle_held();
  });
  backend.shutdown(std::chrono::seconds(5));
  settler.join();
  for (auto& f : outcomes) CHECK(wait(f, std::chrono::seconds(1)).ok());
}
