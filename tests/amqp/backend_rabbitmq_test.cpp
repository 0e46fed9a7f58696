// The backend against a real AMQP 1.0 broker: a private RabbitMQ 3.10 node with SASL PLAIN.
#include <doctest/doctest.h>

#include <memory>

#include <stepline/host/amqp/backend.hpp>

#include "amqp/targets.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/rabbitmq.hpp"

using namespace stepline;
using namespace stepline::host::amqp;
using test::make_target;
using test::MessageReceiver;
using test::RabbitMq;
using test::text_message;

namespace {

// One node for the whole suite: it takes seconds to start.
RabbitMq& rabbit() {
  static RabbitMq node;
  return node;
}

// The node's default user; a receiver on /queue/<name> declares the queue.
test::ReceiverOptions guest() {
  return {.user = "guest", .password = "guest", .reply = {}};
}

BackendOptions rabbit_options() {
  BackendOptions o;
  o.allow_plain_amqp = true;
  o.reconnect_delay = std::chrono::milliseconds(50);
  o.max_reconnect_delay = std::chrono::milliseconds(400);
  return o;
}

Target queue(const std::string& address,
             std::chrono::milliseconds timeout = std::chrono::seconds(10),
             const std::string& password = "guest") {
  return make_target(rabbit().connection_string(password), address, Auth::plain, test::one_way,
                     timeout);
}

Outcome wait(std::future<Outcome>& f, std::chrono::seconds limit = std::chrono::seconds(30)) {
  REQUIRE(f.wait_for(limit) == std::future_status::ready);
  return f.get();
}

proton::message durable(const std::string& body) {
  proton::message m = text_message(body);
  m.durable(true);
  return m;
}

}  // namespace

TEST_CASE(
    "posts over SASL PLAIN are accepted and a plain Proton receiver gets every one in order") {
  MessageReceiver receiver(rabbit().url(), {"/queue/stepline-basic"},
                           guest());  // declares the queue
  Backend backend(rabbit_options());
  std::vector<std::future<Outcome>> outcomes;
  std::vector<std::string> sent;
  for (int i = 0; i < 200; ++i) {
    sent.push_back("message " + std::to_string(i));
    outcomes.push_back(backend.post(queue("/amq/queue/stepline-basic"), text_message(sent.back())));
  }
  for (auto& f : outcomes) CHECK(wait(f).ok());
  REQUIRE(receiver.wait_for(200));
  CHECK(receiver.bodies() == sent);
  CHECK(backend.stats().connections_opened == 1);
}

TEST_CASE("a window of 16 holds at most 16 unsettled posts while thousands go through") {
  MessageReceiver receiver(rabbit().url(), {"/queue/stepline-window"}, guest());
  BackendOptions options = rabbit_options();
  options.window = 16;
  Backend backend(options);
  std::atomic<int> accepted{0};
  for (int i = 0; i < 3000; ++i) {
    backend.post(queue("/amq/queue/stepline-window"), text_message(std::to_string(i)),
                 [&](const Outcome& o) { accepted += o.ok(); });
  }
  backend.shutdown(std::chrono::seconds(30));
  CHECK(accepted.load() == 3000);
  CHECK(backend.stats().max_unsettled == 16);
  CHECK(receiver.wait_for(3000));
}

TEST_CASE("a wrong password fails as permanent unauthorized") {
  Backend backend(rabbit_options());
  auto f =
      backend.post(queue("/amq/queue/stepline-basic", std::chrono::seconds(10), "not-the-password"),
                   text_message("x"));
  Outcome o = wait(f);
  CHECK(o.status == OutcomeStatus::permanent);
  CHECK(o.condition == "amqp:unauthorized-access");
  CHECK(o.description.find("not-the-password") == std::string::npos);
}

TEST_CASE(
    "while the broker is down posts wait or fail as transient, and after it returns nothing "
    "accepted is lost") {
  const std::string address = "/queue/stepline-restart";
  Backend backend(rabbit_options());
  std::vector<std::string> accepted;
  {
    MessageReceiver receiver(rabbit().url(), {address}, guest());
    for (int i = 0; i < 10; ++i) {
      std::string body = "before " + std::to_string(i);
      auto f = backend.post(queue(address), durable(body));
      if (wait(f).ok()) accepted.push_back(body);
    }
    REQUIRE(receiver.wait_for(10));
    CHECK(receiver.bodies() == accepted);
  }
  rabbit().stop();

  auto short_lived =
      backend.post(queue(address, std::chrono::milliseconds(800)), durable("dropped"));
  Outcome down = wait(short_lived);
  CHECK(down.status == OutcomeStatus::transient);
  CHECK(down.condition == local_condition::network);

  std::vector<std::future<Outcome>> waiting;
  std::vector<std::string> bodies;
  for (int i = 0; i < 5; ++i) {
    bodies.push_back("during " + std::to_string(i));
    waiting.push_back(
        backend.post(queue(address, std::chrono::seconds(60)), durable(bodies.back())));
  }
  rabbit().start();
  std::vector<std::string> after;
  for (int i = 0; i < 5; ++i) {
    Outcome o = wait(waiting[i], std::chrono::seconds(60));
    CHECK(o.ok());
    if (o.ok()) after.push_back(bodies[i]);
  }
  auto f = backend.post(queue(address), durable("after"));
  if (wait(f).ok()) after.push_back("after");
  MessageReceiver receiver(rabbit().url(), {address}, guest());
  REQUIRE(receiver.wait_for(after.size()));
  CHECK(receiver.bodies() == after);
  CHECK(backend.stats().connections_opened == 2);
}
