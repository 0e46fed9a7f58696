// The message a post sends, checked on the proton::message itself: properties, ids, subject,
// content type, partition key and session, and the size policy.
#include <doctest/doctest.h>

#include <proton/binary.hpp>
#include <proton/symbol.hpp>
#include <proton/timestamp.hpp>

#include <stepline/azure/names.hpp>
#include <stepline/format/format.hpp>
#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/endpoints/amqp_endpoint_poster.hpp>
#include <stepline/host/endpoints/endpoint_message.hpp>
#include <stepline/host/endpoints/message_properties.hpp>

#include "endpoints/endpoint_fixture.hpp"
#include "testkit/test_peer.hpp"

using namespace stepline;
using namespace stepline::host::endpoints;
using registration::Contract;
using registration::UserClaim;
using test::has_property;
using test::make_endpoint;
using test::property;

namespace {

std::string annotation(const proton::message& m, std::string_view key) {
  proton::value v = m.message_annotations().get(proton::symbol(std::string(key)));
  return v.empty() ? std::string() : proton::get<std::string>(v);
}

bool has_annotation(const proton::message& m, std::string_view key) {
  return m.message_annotations().exists(proton::symbol(std::string(key)));
}

// A context whose Target carries `bytes` of text and whose shared variables carry `shared`.
ExecutionContext context_of_size(std::size_t bytes, std::size_t shared = 0) {
  ExecutionContext c = samples::full_context();
  c.target()->set("description", std::string(bytes, 'd'));
  if (shared) c.shared_variables.insert_or_assign("notes", Value(std::string(shared, 'n')));
  return c;
}

}  // namespace

TEST_CASE("a queue post carries the Dataverse claims, their twins, the ids and the subject") {
  auto endpoint = make_endpoint("orders", Contract::queue, "orders");
  ExecutionContext c = samples::full_context();
  proton::message m = test::on_the_wire(compose_message(endpoint, c).message);

  CHECK(proton::to_string(m.id()) == c.operation_id.str());
  CHECK(proton::to_string(m.correlation_id()) == c.correlation_id.str());
  CHECK(m.subject() == "Update:account");
  CHECK(m.content_type() == "application/json");
  CHECK(m.durable());
  CHECK(m.creation_time().milliseconds() == c.operation_created_on.time_since_epoch().count());

  CHECK(property(m, claim::organization) == "unq77777777000000000000000000f0");
  CHECK(property(m, claim::user) == "44444444-0000-0000-0000-000000000001");
  CHECK(property(m, claim::initiating_user) == "44444444-0000-0000-0000-000000000002");
  CHECK(property(m, claim::entity_logical_name) == "account");
  CHECK(property(m, claim::request_name) == "Update");
  CHECK_FALSE(has_property(m, claim::initiating_user_agent));  // user-id is the default
  CHECK(property(m, twin::organization) == property(m, claim::organization));
  CHECK(property(m, twin::user) == property(m, claim::user));
  CHECK(property(m, twin::initiating_user) == property(m, claim::initiating_user));
  CHECK(property(m, twin::entity) == "account");
  CHECK(property(m, twin::message) == "Update");
  CHECK_FALSE(has_property(m, message_max_size_exceeded));

  CHECK_FALSE(has_annotation(m, azure::annotation::partition_key));
  CHECK(m.group_id().empty());
  CHECK(m.reply_to().empty());
}

TEST_CASE("user_claim decides which user claims travel") {
  auto endpoint = make_endpoint("orders", Contract::topic, "account-events");
  ExecutionContext c = samples::full_context();

  endpoint.user_claim = UserClaim::none;
  proton::message none = compose_message(endpoint, c).message;
  CHECK_FALSE(has_property(none, claim::user));
  CHECK_FALSE(has_property(none, claim::initiating_user));
  CHECK_FALSE(has_property(none, twin::user));
  CHECK_FALSE(has_property(none, claim::initiating_user_agent));
  CHECK(property(none, claim::entity_logical_name) == "account");
  CHECK(property(none, claim::request_name) == "Update");
  CHECK(property(none, claim::organization) == c.organization_name);

  endpoint.user_claim = UserClaim::user_info;
  proton::message info = compose_message(endpoint, c).message;
  CHECK(property(info, claim::user) == c.user_id.str());
  CHECK(property(info, claim::initiating_user_agent) == "Mozilla/5.0 (X11; Linux x86_64)");
  CHECK(property(info, twin::initiating_user_agent) == "Mozilla/5.0 (X11; Linux x86_64)");

  c.initiating_user_agent.clear();
  CHECK_FALSE(has_property(compose_message(endpoint, c).message, claim::initiating_user_agent));
}

TEST_CASE("posts one after another each carry their own context's claims") {
  // The claims are built once for a run of posts with the same values: every value they are
  // made of must start a new run.
  auto endpoint = make_endpoint("orders", Contract::queue, "orders");
  endpoint.user_claim = UserClaim::user_info;
  ExecutionContext c = samples::full_context();
  auto claims_of = [&endpoint](const ExecutionContext& context) {
    proton::message m = compose_message(endpoint, context).message;
    return std::vector<std::string>{property(m, claim::organization),
                                    property(m, twin::organization),
                                    property(m, claim::user),
                                    property(m, twin::user),
                                    property(m, claim::initiating_user),
                                    property(m, twin::initiating_user),
                                    property(m, claim::entity_logical_name),
                                    property(m, twin::entity),
                                    property(m, claim::request_name),
                                    property(m, twin::message),
                                    property(m, claim::initiating_user_agent),
                                    property(m, twin::initiating_user_agent)};
  };
  auto expected = [](const ExecutionContext& context) {
    std::string organization = context.organization_name.empty() ? context.organization_id.str()
                                                                 : context.organization_name;
    return std::vector<std::string>{organization,
                                    organization,
                                    context.user_id.str(),
                                    context.user_id.str(),
                                    context.initiating_user_id.str(),
                                    context.initiating_user_id.str(),
                                    context.primary_entity_name,
                                    context.primary_entity_name,
                                    context.message_name,
                                    context.message_name,
                                    context.initiating_user_agent,
                                    context.initiating_user_agent};
  };
  CHECK(claims_of(c) == expected(c));
  CHECK(claims_of(c) == expected(c));  // the same values again
  c.organization_name = "Fabrikam";
  CHECK(claims_of(c) == expected(c));
  c.organization_name.clear();
  CHECK(claims_of(c) == expected(c));
  c.organization_id = Guid::parse("77777777-0000-0000-0000-0000000000f1");
  CHECK(claims_of(c) == expected(c));
  c.user_id = Guid::parse("44444444-0000-0000-0000-0000000000a1");
  CHECK(claims_of(c) == expected(c));
  c.initiating_user_id = Guid::parse("44444444-0000-0000-0000-0000000000a2");
  CHECK(claims_of(c) == expected(c));
  c.primary_entity_name = "contact";
  CHECK(claims_of(c) == expected(c));
  c.message_name = "Create";
  CHECK(claims_of(c) == expected(c));
  c.initiating_user_agent = "curl/7.88";
  CHECK(claims_of(c) == expected(c));
  // The trace context goes on top of the claims built before, and only on its own post.
  c.shared_variables.insert_or_assign(
      "traceparent", Value(std::string("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")));
  proton::message traced = compose_message(endpoint, c).message;
  CHECK(property(traced, trace::traceparent) ==
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  CHECK(property(traced, claim::request_name) == "Create");
  c.shared_variables.erase("traceparent");
  proton::message untraced = compose_message(endpoint, c).message;
  CHECK_FALSE(has_property(untraced, trace::traceparent));
  CHECK(claims_of(c) == expected(c));
}

TEST_CASE("the organization claim falls back to the organization id without a name") {
  auto endpoint = make_endpoint("orders", Contract::queue, "orders");
  ExecutionContext c = samples::full_context();
  c.organization_name.clear();
  CHECK(property(compose_message(endpoint, c).message, claim::organization) ==
        c.organization_id.str());
}

TEST_CASE("every format has its content type, its body section and reads back as posted") {
  ExecutionContext c = samples::full_context();
  for (const std::string& f : test::every_format()) {
    CAPTURE(f);
    auto endpoint = make_endpoint("orders", Contract::queue, "orders");
    endpoint.format = f;
    proton::message m = test::on_the_wire(compose_message(endpoint, c).message);
    CHECK(m.content_type() == format::format_named(f).content_type);
    if (f == "binary") {
      CHECK_FALSE(m.inferred());  // an amqp-value section holding the map
      CHECK(m.body().type() == proton::MAP);
    } else {
      CHECK(m.inferred());  // one data section holding the text
      CHECK(m.body().type() == proton::BINARY);
    }
    ExecutionContext back = test::read_body(m, f);
    if (f == "dataverse-json") {
      // dataverse-json has no type for every value kind; the record and its ids survive.
      CHECK(back.operation_id == c.operation_id);
      CHECK(back.primary_entity_id == c.primary_entity_id);
      CHECK(back.pre_entity_images.at("pre").get("revenue") ==
            c.pre_entity_images.at("pre").get("revenue"));
    } else {
      CHECK(back == c);
    }
  }
}

TEST_CASE(
    "a json endpoint posts the given json text of the context; other formats write their own") {
  ExecutionContext c = samples::full_context();
  const std::string text = format::serialize(c, "json");
  host::endpoints::PostOptions options;
  options.json_body = text;
  for (const std::string& f : test::every_format()) {
    CAPTURE(f);
    auto endpoint = make_endpoint("orders", Contract::queue, "orders");
    endpoint.format = f;
    EndpointMessage given = compose_message(endpoint, c, options);
    EndpointMessage written = compose_message(endpoint, c);
    // Given or written, the message is the same bytes (ids and times come from the context).
    CHECK(given.message.encode() == written.message.encode());
    CHECK(given.size == written.size);
  }
  // The text is taken as it is, not written again: a marker in it reaches the wire.
  auto endpoint = make_endpoint("orders", Contract::queue, "orders");
  endpoint.format = "json";
  const std::string marked = text.substr(0, text.size() - 1) + R"(,"marker":1})";
  options.json_body = marked;
  proton::message m = test::on_the_wire(compose_message(endpoint, c, options).message);
  auto body = proton::get<proton::binary>(m.body());
  CHECK(std::string(body.begin(), body.end()) == marked);
  // A body over the limit is cut down from the context itself, so the given text is not used.
  endpoint.max_message_size = 32 * 1024;
  ExecutionContext big = context_of_size(64 * 1024);
  const std::string big_text = format::serialize(big, "json");
  options.json_body = big_text;
  EndpointMessage cut = compose_message(endpoint, big, options);
  CHECK(cut.truncated);
  CHECK(cut.message.encode().size() <= 32 * 1024);
}

TEST_CASE("an event hub post is partitioned by the record unless told otherwise") {
  auto endpoint = make_endpoint("telemetry", Contract::eventhub, "telemetry");
  ExecutionContext c = samples::full_context();
  const auto key = azure::annotation::partition_key;

  CHECK(annotation(compose_message(endpoint, c).message, key) == c.primary_entity_id.str());
  CHECK(annotation(compose_message(endpoint, c, {.ordering_key = "customer-7"}).message, key) ==
        "customer-7");

  endpoint.partition_key = "{primary_entity_name}/{primary_entity_id}";
  CHECK(annotation(compose_message(endpoint, c).message, key) ==
        "account/" + c.primary_entity_id.str());
  endpoint.partition_key = "org-{organization_id}";
  CHECK(annotation(compose_message(endpoint, c).message, key) == "org-" + c.organization_id.str());

  // Event hubs take no session id; the key only partitions.
  CHECK(compose_message(endpoint, c).message.group_id().empty());
}

TEST_CASE("a post to one event hub partition carries no partition key") {
  auto endpoint = make_endpoint("telemetry", Contract::eventhub, "telemetry/Partitions/2");
  CHECK(posts_to_partition(endpoint));
  proton::message m = compose_message(endpoint, samples::full_context()).message;
  CHECK_FALSE(has_annotation(m, azure::annotation::partition_key));
}

TEST_CASE("an event without a record gets no partition key, so the hub spreads them") {
  auto endpoint = make_endpoint("telemetry", Contract::eventhub, "telemetry");
  ExecutionContext c = samples::full_context();
  c.primary_entity_id = Guid();
  CHECK_FALSE(
      has_annotation(compose_message(endpoint, c).message, azure::annotation::partition_key));
}

TEST_CASE("an unknown partition_key placeholder is named with the endpoint") {
  auto endpoint = make_endpoint("telemetry", Contract::eventhub, "telemetry");
  endpoint.partition_key = "{record}";
  std::string problem = partition_key_problem(endpoint);
  CHECK(problem.find("endpoint 'telemetry' (endpoints.yaml:12)") != std::string::npos);
  CHECK(problem.find("{record}") != std::string::npos);
  CHECK(problem.find("{primary_entity_id}") != std::string::npos);
  CHECK_THROWS_AS(compose_message(endpoint, samples::full_context()), std::invalid_argument);
  endpoint.partition_key = "{primary_entity_id";
  CHECK(partition_key_problem(endpoint).find("never closed") != std::string::npos);
  endpoint.partition_key = "tenant-{organization_id}";
  CHECK(partition_key_problem(endpoint).empty());
}

TEST_CASE("Service Bus posts take a session id from the ordering key or per-record order") {
  auto endpoint = make_endpoint("orders", Contract::queue, "orders");
  ExecutionContext c = samples::full_context();
  CHECK(compose_message(endpoint, c, {.ordering_key = "order-17"}).message.group_id() ==
        "order-17");
  endpoint.order = registration::Ordering::per_record;
  CHECK(compose_message(endpoint, c).message.group_id() == c.primary_entity_id.str());
  CHECK_FALSE(
      has_annotation(compose_message(endpoint, c).message, azure::annotation::partition_key));
}

TEST_CASE("a two-way request gets a fresh message id per post, so a retry is not a duplicate") {
  auto endpoint = make_endpoint("credit-check", Contract::twoway, "credit-check");
  ExecutionContext c = samples::full_context();
  proton::message first = compose_message(endpoint, c).message;
  proton::message second = compose_message(endpoint, c).message;
  CHECK(proton::to_string(first.id()) != c.operation_id.str());
  CHECK(proton::to_string(first.id()) != proton::to_string(second.id()));
  CHECK(proton::to_string(first.correlation_id()) == c.correlation_id.str());
}

TEST_CASE("the size limit defaults to the contract's") {
  CHECK(max_message_size(make_endpoint("q", Contract::queue, "q")) == 262144);
  CHECK(max_message_size(make_endpoint("t", Contract::topic, "t")) == 262144);
  CHECK(max_message_size(make_endpoint("w", Contract::twoway, "w")) == 262144);
  CHECK(max_message_size(make_endpoint("h", Contract::eventhub, "h")) == 1048576);
  auto endpoint = make_endpoint("q", Contract::queue, "q");
  endpoint.max_message_size = 4096;
  CHECK(max_message_size(endpoint) == 4096);
}

TEST_CASE("a context over the limit is truncated, flagged, and then fits") {
  for (const std::string& f : test::every_format()) {
    CAPTURE(f);
    auto endpoint = make_endpoint("orders", Contract::queue, "orders");
    endpoint.format = f;
    endpoint.max_message_size = 32 * 1024;
    ExecutionContext c = context_of_size(64 * 1024);
    EndpointMessage composed = compose_message(endpoint, c);
    CHECK(composed.truncated);
    proton::message m = test::on_the_wire(composed.message);
    CHECK(composed.message.encode().size() <= 32 * 1024);
    CHECK(m.properties().get(std::string(message_max_size_exceeded)) == proton::scalar(true));
    ExecutionContext back = test::read_body(m, f);
    CHECK(back.input_parameters.empty());
    CHECK(back.pre_entity_images.empty());
    CHECK(back.post_entity_images.empty());
    CHECK(back.parent_context == nullptr);
    // What a listener needs to read the record back is still there.
    CHECK(back.primary_entity_id == c.primary_entity_id);
    CHECK(back.primary_entity_name == "account");
    CHECK(back.shared_variables.size() == c.shared_variables.size());
    CHECK(property(m, claim::entity_logical_name) == "account");
  }
}

TEST_CASE("a context that fits exactly is not truncated") {
  auto endpoint = make_endpoint("orders", Contract::queue, "orders");
  ExecutionContext c = context_of_size(64 * 1024);
  endpoint.max_message_size = 1024 * 1024;
  std::size_t exact = compose_message(endpoint, c).message.encode().size();
  endpoint.max_message_size = exact;
  EndpointMessage composed = compose_message(endpoint, c);
  CHECK_FALSE(composed.truncated);
  CHECK(composed.size == exact);
  endpoint.max_message_size = exact - 1;
  CHECK(compose_message(endpoint, c).truncated);
}

TEST_CASE("a context still too large without its images is refused, naming endpoint and record") {
  auto endpoint = make_endpoint("orders", Contract::queue, "orders");
  endpoint.max_message_size = 16 * 1024;
  ExecutionContext c = context_of_size(1024, 40 * 1024);  // the bulk is in SharedVariables
  try {
    compose_message(endpoint, c);
    FAIL("expected MessageTooLarge");
  } catch (const MessageTooLarge& e) {
    std::string what = e.what();
    CHECK(what.find("endpoint 'orders' (endpoints.yaml:12)") != std::string::npos);
    CHECK(what.find("Update of account " + c.primary_entity_id.str()) != std::string::npos);
    CHECK(what.find("even without ParentContext") != std::string::npos);
    CHECK(e.limit() == 16 * 1024);
    CHECK(e.size() > e.limit());
  }
}

TEST_CASE("size_policy fail refuses an oversized context at once") {
  auto endpoint = make_endpoint("orders", Contract::queue, "orders");
  endpoint.max_message_size = 32 * 1024;
  endpoint.size_policy = registration::SizePolicy::fail;
  ExecutionContext c = context_of_size(64 * 1024);
  CHECK_THROWS_WITH_AS(compose_message(endpoint, c), doctest::Contains("size_policy is fail"),
                       MessageTooLarge);
  c = context_of_size(1024);
  CHECK_FALSE(compose_message(endpoint, c).truncated);
}

TEST_CASE("the poster answers a refused post itself, permanent, and sends nothing") {
  host::amqp::Backend backend;
  AmqpEndpointPoster poster(backend);
  auto endpoint = make_endpoint("orders", Contract::queue, "orders");
  endpoint.max_message_size = 8 * 1024;
  endpoint.size_policy = registration::SizePolicy::fail;
  auto outcome = poster.post(endpoint, context_of_size(64 * 1024)).get();
  CHECK(outcome.status == host::amqp::OutcomeStatus::permanent);
  CHECK(outcome.condition == "amqp:link:message-size-exceeded");
  CHECK(outcome.description.find("endpoint 'orders'") != std::string::npos);

  endpoint = make_endpoint("broken", Contract::queue, "orders");
  endpoint.connection = {};  // built in code without one
  outcome = poster.post(endpoint, samples::full_context()).get();
  CHECK(outcome.status == host::amqp::OutcomeStatus::permanent);
  CHECK(outcome.condition == "stepline:configuration");
  CHECK(outcome.description.find("endpoint 'broken'") != std::string::npos);
  CHECK(backend.stats().posted == 0);
}

TEST_CASE("an endpoint's target carries its parsed connection, entity, login and reply") {
  auto endpoint = make_endpoint("credit", Contract::twoway, "credit-check");
  endpoint.reply_to = "credit-replies";
  endpoint.auth = registration::AuthMechanism::plain;
  host::amqp::Target target = target_of(endpoint);
  CHECK(target.name == "credit");
  CHECK(target.connection == endpoint.connection);
  CHECK(target.entity == "credit-check");
  CHECK(target.auth == host::amqp::Auth::plain);
  CHECK(target.awaits_reply);
  CHECK(target.reply_to == "credit-replies");
  CHECK(target.timeout == endpoint.timeout);
  CHECK_FALSE(target_of(make_endpoint("orders", Contract::queue, "orders")).awaits_reply);
  CHECK_FALSE(target_of(make_endpoint("hub", Contract::eventhub, "telemetry")).awaits_reply);
}

TEST_CASE("a reloaded endpoint of the same name is posted to where it now points") {
  test::TestPeer peer;
  host::amqp::Backend backend;
  AmqpEndpointPoster poster(backend);
  auto endpoint = make_endpoint("orders", Contract::queue, "orders", peer.connection_string());
  CHECK(test::outcome_of(poster.post(endpoint, samples::full_context())).ok());
  endpoint.path = "orders-v2";
  CHECK(test::outcome_of(poster.post(endpoint, samples::full_context())).ok());
  auto received = peer.messages();
  REQUIRE(received.size() == 2);
  CHECK(received[0].to() == "orders");
  CHECK(received[1].to() == "orders-v2");
}

TEST_CASE("the encoded message is the bytes Proton writes for the same message") {
  ExecutionContext c = samples::full_context();
  c.shared_variables.insert_or_assign(
      "traceparent", Value(std::string("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")));
  c.initiating_user_agent = "Mozilla/5.0";

  // Built as a proton::message, property by property: the same bytes, application properties
  // in the order of their keys.
  auto endpoint = make_endpoint("orders", Contract::queue, "orders");
  endpoint.format = "json";
  endpoint.user_claim = UserClaim::user_info;
  endpoint.order = registration::Ordering::per_record;
  proton::message m;
  m.id(c.operation_id.str());
  m.correlation_id(c.correlation_id.str());
  m.subject("Update:account");
  m.content_type("application/json");
  m.durable(true);
  m.creation_time(proton::timestamp(c.operation_created_on.time_since_epoch().count()));
  m.group_id(c.primary_entity_id.str());
  auto& p = m.properties();
  const std::string organization = "unq77777777000000000000000000f0";
  for (auto key : {claim::organization, twin::organization}) p.put(std::string(key), organization);
  for (auto key : {claim::user, twin::user}) p.put(std::string(key), c.user_id.str());
  for (auto key : {claim::initiating_user, twin::initiating_user})
    p.put(std::string(key), c.initiating_user_id.str());
  for (auto key : {claim::entity_logical_name, twin::entity}) p.put(std::string(key), "account");
  for (auto key : {claim::request_name, twin::message}) p.put(std::string(key), "Update");
  for (auto key : {claim::initiating_user_agent, twin::initiating_user_agent})
    p.put(std::string(key), "Mozilla/5.0");
  for (auto key : {trace::diagnostic_id, trace::traceparent})
    p.put(std::string(key), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  const std::string body = format::serialize(c, "json");
  m.inferred(true);
  m.body(proton::binary(body.begin(), body.end()));
  const std::vector<char> expected = m.encode();
  const std::string& encoded = encode_message(endpoint, c).message.bytes;
  CHECK(std::vector<char>(encoded.begin(), encoded.end()) == expected);

  // Every format and contract, truncated or not, long fields or not: what Proton decodes it
  // encodes again byte for byte.
  auto same_again = [](const std::string& bytes) {
    proton::message decoded;
    decoded.decode(std::vector<char>(bytes.begin(), bytes.end()));
    CHECK(decoded.encode() == std::vector<char>(bytes.begin(), bytes.end()));
  };
  for (const std::string& f : test::every_format()) {
    for (Contract contract : {Contract::queue, Contract::eventhub, Contract::twoway}) {
      for (bool big : {false, true}) {
        CAPTURE(f);
        CAPTURE(big);
        auto e = make_endpoint("orders", contract, "orders");
        e.format = f;
        e.order = registration::Ordering::per_record;
        e.max_message_size = 32 * 1024;
        ExecutionContext context = big ? context_of_size(64 * 1024) : c;
        // A subject over 255 bytes makes the properties a list32.
        if (big) context.primary_entity_name = std::string(300, 'e');
        EncodedEndpointMessage message = encode_message(e, context);
        CHECK(message.truncated == big);
        CHECK(message.size() <= 32 * 1024);
        same_again(message.message.bytes);
      }
    }
  }
  format::ClaimCheck reference;
  reference.url = "http://127.0.0.1:10000/devstoreaccount1/bodies/a";
  reference.size = 70000;
  reference.content_type = "application/json";
  const std::string& checked = claim_check_message(endpoint, c, reference).message.bytes;
  same_again(checked);
  proton::message claim_checked;
  claim_checked.decode(std::vector<char>(checked.begin(), checked.end()));
  CHECK(claim_checked.content_type() == format::claim_check_content_type);
  CHECK(property(claim_checked, format::claim_check_property) == reference.url);
  CHECK(property(claim_checked, claim::organization) == organization);
}
