// The notification service between the pipeline and the poster: endpoint lookup, waiting for the
// outcome, and what a failed post does to the operation. The poster here is scripted; the
// broker tests post for real.
#include <doctest/doctest.h>

#include <deque>
#include <mutex>

#include <stepline/host/endpoints/notification_service.hpp>
#include <stepline/host/pipeline/pipeline.hpp>
#include <stepline/host/store/sqlite_record_store.hpp>

#include "endpoints/endpoint_fixture.hpp"
#include "pipeline/fixture.hpp"

using namespace stepline;
using host::amqp::Outcome;
using registration::Contract;

namespace {

/// Completes each post with the next scripted outcome (accepted when none is left) and keeps
/// what it was asked to post.
class ScriptedPoster final : public host::endpoints::EndpointPoster {
 public:
  std::future<Outcome> post(const registration::ServiceEndpoint& endpoint,
                            const ExecutionContext& context,
                            const host::endpoints::PostOptions&) override {
    std::lock_guard lock(mutex);
    posts.emplace_back(endpoint.name, context);
    std::promise<Outcome> promise;
    if (outcomes.empty()) {
      promise.set_value(Outcome::accepted());
    } else {
      promise.set_value(outcomes.front());
      outcomes.pop_front();
    }
    return promise.get_future();
  }
  std::mutex mutex;
  std::deque<Outcome> outcomes;
  std::vector<std::pair<std::string, ExecutionContext>> posts;
};

registration::Registration with_endpoints(std::vector<registration::Step> steps) {
  auto r = test::make_registration(std::move(steps));
  r.endpoints.push_back(test::make_endpoint("orders", Contract::queue, "orders"));
  r.endpoints.push_back(test::make_endpoint("credit-check", Contract::twoway, "credit-check"));
  return r;
}

registration::Step endpoint_step(std::string message, Stage stage, std::string endpoint) {
  auto s = test::make_step("Post " + message + " of account", message, "account", stage, "");
  s.plugin_type.clear();
  s.endpoint = std::move(endpoint);
  return s;
}

/// A pipeline whose notification service posts through `poster`.
struct NotifyingRig {
  NotifyingRig(registration::Registration r, host::endpoints::EndpointPoster& poster)
      : store(data.path() / "stepline.db"),
        notification(poster, std::make_shared<const registration::Registration>(r)),
        pipeline(std::move(r), factory, store, &notification) {}

  host::pipeline::OperationResponse create(const Entity& e) {
    return pipeline.execute({.message = "Create", .parameters = {{"Target", Value(e)}}});
  }

  test::TempFolder data;
  test::TestFactory factory;
  host::store::SqliteRecordStore store;
  host::endpoints::EndpointNotificationService notification;
  host::pipeline::Pipeline pipeline;
};

Entity new_account(int n) {
  Entity e("account", test::fixed_guid(100 + n));
  e.set("name", "Contoso " + std::to_string(n));
  return e;
}

}  // namespace

TEST_CASE("a synchronous endpoint step posts the post-operation context and the change commits") {
  ScriptedPoster poster;
  NotifyingRig rig(with_endpoints({endpoint_step("Create", Stage::post_operation, "orders")}),
                   poster);
  auto response = rig.create(new_account(1));
  REQUIRE(response.ok());
  REQUIRE(poster.posts.size() == 1);
  const auto& [name, context] = poster.posts.front();
  CHECK(name == "orders");
  CHECK(context.message_name == "Create");
  CHECK(context.primary_entity_name == "account");
  CHECK(context.primary_entity_id == test::fixed_guid(101));
  CHECK(context.stage == Stage::post_operation);
  CHECK(context.mode == Mode::synchronous);
  CHECK(rig.store.retrieve("account", test::fixed_guid(101), ColumnSet::all()).has_value());
}

TEST_CASE(
    "a failed post from a synchronous step rolls the operation back, naming endpoint and "
    "record") {
  ScriptedPoster poster;
  poster.outcomes.push_back(Outcome::failure("amqp:unauthorized-access",
                                             "endpoint 'orders': the service refused the token"));
  NotifyingRig rig(with_endpoints({endpoint_step("Create", Stage::post_operation, "orders")}),
                   poster);
  auto response = rig.create(new_account(2));
  CHECK(response.outcome == host::pipeline::Outcome::rejected);
  CHECK(response.error_message.find("endpoint 'orders' (endpoints.yaml:12)") != std::string::npos);
  CHECK(response.error_message.find("Create of account " + test::fixed_guid(102).str()) !=
        std::string::npos);
  CHECK(response.error_message.find("amqp:unauthorized-access") != std::string::npos);
  CHECK_FALSE(rig.store.retrieve("account", test::fixed_guid(102), ColumnSet::all()).has_value());
}

TEST_CASE("a transient failure fails a synchronous step too: nobody retries it later") {
  ScriptedPoster poster;
  poster.outcomes.push_back(Outcome::failure("stepline:network", "connection refused"));
  NotifyingRig rig(with_endpoints({endpoint_step("Create", Stage::pre_operation, "orders")}),
                   poster);
  auto response = rig.create(new_account(3));
  CHECK(response.outcome == host::pipeline::Outcome::rejected);
  CHECK(response.error_message.find("transient") != std::string::npos);
  CHECK_FALSE(rig.store.retrieve("account", test::fixed_guid(103), ColumnSet::all()).has_value());
}

TEST_CASE("a plug-in posting to a two-way endpoint gets the listener's reply") {
  ScriptedPoster poster;
  poster.outcomes.push_back(Outcome::accepted("approved: 5000"));
  auto plugin_step =
      test::make_step("Check credit", "Create", "account", Stage::pre_operation, "Test.Credit");
  NotifyingRig rig(with_endpoints({plugin_step}), poster);
  rig.factory.add("Test.Credit", [](ExecutionContext& c, Services& services) {
    std::string reply = services.notification().post("credit-check", c);
    services.tracing().trace("reply {}", reply);
  });
  auto response = rig.create(new_account(4));
  REQUIRE(response.ok());
  REQUIRE(response.traces.size() == 1);
  CHECK(response.traces.front() == "Check credit: reply approved: 5000");
  CHECK(poster.posts.front().first == "credit-check");
}

TEST_CASE("a one-way post returns an empty reply") {
  ScriptedPoster poster;
  host::endpoints::EndpointNotificationService service(
      poster, std::make_shared<const registration::Registration>(with_endpoints({})));
  CHECK(service.post("orders", test::small_context()).empty());
}

TEST_CASE("an unknown endpoint name is an error listing the registered ones") {
  ScriptedPoster poster;
  auto plugin_step =
      test::make_step("Post somewhere", "Create", "account", Stage::post_operation, "Test.Post");
  NotifyingRig rig(with_endpoints({plugin_step}), poster);
  rig.factory.add("Test.Post", [](ExecutionContext& c, Services& services) {
    services.notification().post("order", c);
  });
  auto response = rig.create(new_account(5));
  CHECK(response.outcome == host::pipeline::Outcome::rejected);
  CHECK(response.error_message.find("no service endpoint named 'order'") != std::string::npos);
  CHECK(response.error_message.find("registered: orders, credit-check") != std::string::npos);
  CHECK(poster.posts.empty());
  CHECK_FALSE(rig.store.retrieve("account", test::fixed_guid(105), ColumnSet::all()).has_value());
}

TEST_CASE(
    "from an asynchronous context a transient failure asks for a retry, a permanent one "
    "fails the job") {
  ScriptedPoster poster;
  host::endpoints::EndpointNotificationService service(
      poster, std::make_shared<const registration::Registration>(with_endpoints({})));
  ExecutionContext c = test::small_context();
  c.mode = Mode::asynchronous;

  poster.outcomes.push_back(Outcome::failure("com.microsoft:server-busy", "busy"));
  try {
    service.post("orders", c);
    FAIL("expected InvalidPluginExecution");
  } catch (const InvalidPluginExecution& e) {
    CHECK(e.status() == OperationStatus::retry);
  }
  poster.outcomes.push_back(Outcome::failure("amqp:not-found", "no such queue"));
  try {
    service.post("orders", c);
    FAIL("expected InvalidPluginExecution");
  } catch (const InvalidPluginExecution& e) {
    CHECK(e.status() == OperationStatus::failed);
    CHECK(std::string(e.what()).find("amqp:not-found") != std::string::npos);
  }
  c.mode = Mode::synchronous;
  poster.outcomes.push_back(Outcome::failure("com.microsoft:server-busy", "busy"));
  try {
    service.post("orders", c);
    FAIL("expected InvalidPluginExecution");
  } catch (const InvalidPluginExecution& e) {
    CHECK(e.status() == OperationStatus::failed);
  }
}

TEST_CASE("the service reads endpoints from its source on every post, so reloads are seen") {
  ScriptedPoster poster;
  auto current = std::make_shared<const registration::Registration>(with_endpoints({}));
  host::endpoints::EndpointNotificationService service(poster, [&] { return current; });
  CHECK_THROWS_AS(service.post("audit", test::small_context()), InvalidPluginExecution);
  auto next = with_endpoints({});
  next.endpoints.push_back(test::make_endpoint("audit", Contract::topic, "audit"));
  current = std::make_shared<const registration::Registration>(std::move(next));
  CHECK_NOTHROW(service.post("audit", test::small_context()));
  CHECK(poster.posts.back().first == "audit");
}
