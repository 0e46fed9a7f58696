// Claim checks against real services: Azurite (Microsoft's Azure Storage emulator) keeps the
// bodies, stepline-broker carries the references and a Node receiver takes the webhook posts;
// the official @azure/storage-blob client and the SDK's BlobReader read back what was uploaded.
#include <doctest/doctest.h>

#include <thread>

#include <rapidjson/document.h>

#include <stepline/azure/storage_connection_string.hpp>

#include <stepline/claim_check/blob_reader.hpp>
#include <stepline/format/binary.hpp>
#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/claim_check/blob_store.hpp>
#include <stepline/host/endpoints/amqp_endpoint_poster.hpp>
#include <stepline/host/endpoints/message_properties.hpp>
#include <stepline/host/http_client/client.hpp>
#include <stepline/host/webhook/webhook_poster.hpp>

#include "claim_check/large_context.hpp"
#include "endpoints/endpoint_fixture.hpp"
#include "testkit/azurite.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/stepline_broker.hpp"
#include "testkit/webhook_receiver.hpp"

namespace stepline::test {
namespace {

using registration::ClaimCheckDeletion;
using registration::Contract;

ReceiverOptions listen_as_root() {
  return {"RootManageSharedAccessKey", SteplineBroker::root_key, {}};
}

/// Azurite, a broker with a 256 KiB queue, and the host's posters over them.
struct Rig {
  Rig() : broker(broker_config()), claims(client), poster(backend, nullptr, &claims) {}

  registration::ServiceEndpoint queue_endpoint(const std::string& format) {
    auto e = make_endpoint("orders", Contract::queue, "orders", broker.connection_string(), format);
    e.size_policy = registration::SizePolicy::claim_check;
    e.claim_check =
        registration::ClaimCheck{azure::StorageConnectionString::parse(azurite.connection_string()),
                                 "stepline-claims",
                                 ClaimCheckDeletion::never,
                                 {}};
    return e;
  }

  /// The reference of a message, and the message's own properties.
  static format::ClaimCheck reference_of(const proton::message& m) {
    auto reference = format::read_claim_check(MessageReceiver::body_text(m));
    REQUIRE(reference);
    return *reference;
  }

  Azurite azurite;
  SteplineBroker broker;
  host::amqp::Backend backend;
  host::http_client::Client client;
  host::claim_check::BlobStore claims;
  host::endpoints::AmqpEndpointPoster poster;
};

}  // namespace

TEST_CASE("a 1 MB context is claim-checked to a 256 KB queue and read back whole") {
  Rig rig;
  const ExecutionContext context = large_context(1024 * 1024);
  for (auto format : {std::string("dataverse-json"), std::string("binary")}) {
    CAPTURE(format);
    auto endpoint = rig.queue_endpoint(format);
    MessageReceiver receiver(rig.broker.url(), {"orders"}, listen_as_root());
    REQUIRE(outcome_of(rig.poster.post(endpoint, context)).ok());
    REQUIRE(receiver.wait_for(1));
    const proton::message m = receiver.messages().at(0);

    // The message keeps its properties and names the blob.
    CHECK(m.content_type() == format::claim_check_content_type);
    CHECK(proton::get<std::string>(m.id()) == context.operation_id.str());
    CHECK(property(m, host::endpoints::claim::entity_logical_name) == "account");
    CHECK(property(m, host::endpoints::twin::message) == "Create");
    const format::ClaimCheck reference = Rig::reference_of(m);
    CHECK(property(m, format::claim_check_property) == reference.url);
    CHECK(reference.url == "http://127.0.0.1:" + std::to_string(rig.azurite.port()) +
                               "/devstoreaccount1/stepline-claims/orders/" +
                               context.operation_id.str());
    CHECK(reference.size > 1024 * 1024);
    CHECK(reference.format == format);
    CHECK(m.encode().size() < 4096);

    // What Azure's own client reads is exactly that body, stored with the MD5 the service
    // checked on upload.
    rapidjson::Document blob;
    blob.Parse(rig.azurite.read_with_sdk(reference.url).c_str());
    REQUIRE(blob.IsObject());
    CHECK(blob["size"].GetUint64() == reference.size);
    CHECK(std::string(blob["sha256"].GetString()) == reference.sha256);
    CHECK(std::string(blob["contentType"].GetString()) == reference.content_type);
    CHECK(std::string(blob["contentMD5"].GetString()) == blob["md5"].GetString());
    CHECK(std::string(blob["metadata"]["stepline_sha256"].GetString()) == reference.sha256);

    // The SDK's reader fetches, verifies and parses it as the endpoint's format.
    claim_check::BlobReader reader(rig.azurite.connection_string());
    const ExecutionContext read =
        format::parse_any_format(MessageReceiver::body_text(m), "json", reader);
    CHECK(read == format::parse_any_format(format::serialize_any_format(context, format), format));
  }
}

TEST_CASE("a retried job overwrites its own blob instead of adding one") {
  Rig rig;
  auto endpoint = rig.queue_endpoint("json");
  ExecutionContext context = large_context(400 * 1024);
  MessageReceiver receiver(rig.broker.url(), {"orders"}, listen_as_root());
  // Two attempts of one job whose context differs by same-length text.
  context.shared_variables.insert_or_assign("attempt", Value(std::string("first!")));
  REQUIRE(outcome_of(rig.poster.post(endpoint, context)).ok());
  context.shared_variables.insert_or_assign("attempt", Value(std::string("second")));
  REQUIRE(outcome_of(rig.poster.post(endpoint, context)).ok());
  REQUIRE(receiver.wait_for(2));
  // The broker's duplicate detection may keep one message; the blob is the same either way.
  auto first = Rig::reference_of(receiver.messages().at(0));
  auto second = Rig::reference_of(receiver.messages().back());
  CHECK(first.url == second.url);
  claim_check::BlobReader reader(rig.azurite.connection_string());
  CHECK(format::parse(reader.fetch(second), "json").shared_variables.at("attempt") ==
        Value(std::string("second")));
  CHECK_THROWS_WITH(reader.fetch(first), doctest::Contains("SHA-256 differs"));
}

TEST_CASE("a reader refuses a blob of another account and a blob that was changed") {
  Rig rig;
  auto endpoint = rig.queue_endpoint("json");
  const ExecutionContext context = large_context(300 * 1024);
  auto upload = rig.claims.put(*endpoint.claim_check, "orders/tampered", "{\"a\":1}",
                               format::format_named("json"), std::chrono::seconds(10));
  REQUIRE_MESSAGE(upload.reference, upload.error);
  claim_check::BlobReader reader(rig.azurite.connection_string());
  format::ClaimCheck other = *upload.reference;
  other.url = "http://203.0.113.7:10000/devstoreaccount1/stepline-claims/orders/tampered";
  CHECK_THROWS_WITH(reader.fetch(other), doctest::Contains("is not in the storage account"));
  format::ClaimCheck longer = *upload.reference;
  longer.size = 3;
  CHECK_THROWS_WITH(reader.fetch(longer),
                    doctest::Contains("the blob has 7 bytes, the message names 3"));
  CHECK(reader.fetch(*upload.reference) == "{\"a\":1}");
  // A forged size is refused before anything is downloaded.
  format::ClaimCheck huge = *upload.reference;
  huge.size = std::uint64_t(1) << 40;
  CHECK_THROWS_WITH(reader.fetch(huge),
                    doctest::Contains("the message names 1099511627776 bytes, over the reader's "
                                      "limit of 268435456"));
  claim_check::BlobReaderOptions six_bytes;
  six_bytes.max_size = 6;
  claim_check::BlobReader small(rig.azurite.connection_string(), six_bytes);
  CHECK_THROWS_WITH(small.fetch(*upload.reference),
                    doctest::Contains("over the reader's limit of 6"));
}

TEST_CASE("a webhook's claim check is deleted once the receiver confirms with a 2xx") {
  Rig rig;
  WebhookReceiver receiver;
  host::webhook::WebhookPoster poster(rig.client, nullptr, &rig.claims);
  registration::ServiceEndpoint e;
  e.name = "hook";
  e.contract = Contract::webhook;
  e.webhook = registration::Webhook{receiver.url(), registration::WebhookAuth::none, {}, {}};
  e.timeout = std::chrono::seconds(10);
  e.size_policy = registration::SizePolicy::claim_check;
  e.claim_check = registration::ClaimCheck{
      azure::StorageConnectionString::parse(rig.azurite.connection_string()),
      "hook-claims",
      ClaimCheckDeletion::after_confirm,
      {}};
  const ExecutionContext context = large_context(512 * 1024);
  REQUIRE(outcome_of(poster.post(e, context)).ok());
  auto requests = receiver.wait_for(1);
  REQUIRE(requests.size() == 1);
  const auto& r = requests[0];
  CHECK(r.header("content-type") == format::claim_check_content_type);
  auto reference = format::read_claim_check(r.body);
  REQUIRE(reference);
  CHECK(r.header("x-stepline-claim-check") == reference->url);
  CHECK(r.header("x-ms-dynamics-entity-name") == "account");
  CHECK(r.header("x-ms-dynamics-msg-size-exceeded").empty());  // whole, not cut
  claim_check::BlobReader reader(rig.azurite.connection_string());
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    try {
      reader.fetch(*reference);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } catch (const std::exception& e) {
      gone = std::string(e.what()).find("HTTP 404") != std::string::npos;
    }
  }
  CHECK(gone);
}

TEST_CASE("an upload that fails is a transient outcome, and nothing is posted") {
  Rig rig;
  auto endpoint = rig.queue_endpoint("json");
  MessageReceiver receiver(rig.broker.url(), {"orders"}, listen_as_root());
  rig.azurite.stop();
  auto outcome = outcome_of(rig.poster.post(endpoint, large_context(300 * 1024)));
  CHECK(outcome.status == host::amqp::OutcomeStatus::transient);
  CHECK(outcome.condition == "stepline:claim-check");
  CHECK(outcome.description.find("cannot upload the claim-checked body to http://127.0.0.1:") !=
        std::string::npos);
  CHECK(outcome.description.find(azure::development_storage_key) == std::string::npos);
  CHECK_FALSE(receiver.wait_for(1, 500));
}

}  // namespace stepline::test
