// Reading JSON requests, writing responses, and the embeddable Host.
#include <doctest/doctest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include <stepline/host/host.hpp>
#include <stepline/host/intake/request.hpp>

#include "fixture.hpp"

using namespace stepline;
using namespace stepline::test;
using host::intake::parse_request;
using host::intake::RequestError;

namespace {

std::string path_of_error(std::string_view json) {
  try {
    parse_request(json);
  } catch (const RequestError& e) {
    return e.path();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("an Update request is read with its target, parameters, user, tag and bypass options") {
  auto r = parse_request(R"({"message":"Update",
    "target":{"logicalName":"account","id":"55555555-0000-0000-0000-0000000000ac",
              "attributes":{"name":"Contoso","revenue":{"@type":"money","value":"2000000.00"}}},
    "parameters":{"SuppressDuplicateDetection":true},
    "userId":"00000000-0000-0000-0000-000000000042","tag":"import-7",
    "bypass":"CustomSync","bypassStepIds":"00000000-0000-0000-0000-000000000001, 00000000-0000-0000-0000-000000000002"})");
  CHECK(r.message == "Update");
  const Entity& target = r.parameters.at("Target").as<Entity>();
  CHECK(target.logical_name == "account");
  CHECK(target.id == Guid::parse("55555555-0000-0000-0000-0000000000ac"));
  CHECK(target.get("revenue") == Value(Money{Decimal("2000000.00")}));
  CHECK(r.parameters.at("SuppressDuplicateDetection") == Value(true));
  CHECK(r.user_id == fixed_guid(42));
  CHECK(r.tag == "import-7");
  CHECK(r.parameters.at("BypassBusinessLogicExecution") == Value("CustomSync"));
  CHECK(r.parameters.at("BypassBusinessLogicExecutionStepIds") ==
        Value(fixed_guid(1).str() + "," + fixed_guid(2).str()));
}

TEST_CASE("Delete and Retrieve targets are references; RetrieveMultiple takes a query") {
  auto d = parse_request(
      R"({"message":"Delete","target":{"logicalName":"account","id":"00000000-0000-0000-0000-000000000009"}})");
  CHECK(d.parameters.at("Target") == Value(EntityReference{"account", fixed_guid(9), {}}));
  auto g = parse_request(
      R"({"message":"Retrieve","target":{"logicalName":"account","id":"00000000-0000-0000-0000-000000000009"},"columns":["name","revenue"]})");
  CHECK(g.parameters.at("ColumnSet") == Value("name,revenue"));
  auto q = parse_request(
      R"({"message":"RetrieveMultiple","query":{"logicalName":"account","conditions":{"city":"Oslo"},"pageSize":2,"pageNumber":3}})");
  CHECK(q.parameters.at("Query").as<Entity>().get("city") == Value("Oslo"));
  CHECK(q.parameters.at("PageSize") == Value(2));
  CHECK(q.parameters.at("PageNumber") == Value(3));
}

TEST_CASE("a malformed request is refused with the JSON path of the offending field") {
  CHECK(
      path_of_error(
          R"({"message":"Create","target":{"logicalName":"account","attributes":{"revenue":{"@type":"money"}}}})") ==
      "target.attributes.revenue");
  CHECK(
      path_of_error(
          R"({"message":"Create","target":{"logicalName":"account","attributes":{"when":{"@type":"datetime","value":"yesterday"}}}})") ==
      "target.attributes.when");
  CHECK(path_of_error(R"({"message":"Create"})") == "target");
  CHECK(path_of_error(R"({"target":{}})") == "message");
  CHECK(
      path_of_error(R"({"message":"Update","target":{"logicalName":"account","attributes":{}}})") ==
      "target.id");
  CHECK(path_of_error(R"({"message":"Delete","target":{"logicalName":"account","id":"nope"}})") ==
        "target.id");
  CHECK(path_of_error(R"({"message":"Create","target":{"logicalName":"account"},"userId":"x"})") ==
        "userId");
  CHECK(path_of_error(
            R"({"message":"Create","target":{"logicalName":"account"},"bypass":"Everything"})") ==
        "bypass");
  CHECK(
      path_of_error(
          R"({"message":"Create","target":{"logicalName":"account"},"bypassStepIds":["00000000-0000-0000-0000-000000000001","x"]})") ==
      "bypassStepIds[1]");
  CHECK(
      path_of_error(R"({"message":"Create","target":{"logicalName":"account"},"colour":"red"})") ==
      "colour");
  CHECK(path_of_error(
            R"({"message":"RetrieveMultiple","query":{"logicalName":"account","pageSize":-1}})") ==
        "query.pageSize");
  CHECK(path_of_error(R"({"message":"Create",)") == "");
  CHECK_THROWS_WITH_AS(
      parse_request(
          R"({"message":"Create","target":{"logicalName":"account","attributes":{"revenue":{"@type":"money"}}}})"),
      doctest::Contains("target.attributes.revenue: "), RequestError);
}

TEST_CASE("a request nested more than 64 levels deep is refused with the path where it starts") {
  // The root, target and attributes are three levels; `levels` arrays nest inside.
  auto nested = [](std::size_t levels) {
    return R"({"message":"Create","target":{"logicalName":"account","attributes":{"deep":)" +
           std::string(levels, '[') + std::string(levels, ']') + "}}}";
  };
  CHECK(path_of_error(nested(100000)) == "target.attributes.deep[0][0][0][0][0][0][0][0][0]…");
  CHECK_THROWS_WITH_AS(parse_request(nested(100000)),
                       doctest::Contains("…: nested more than 64 levels deep"), RequestError);
  CHECK(path_of_error(nested(62)) == "target.attributes.deep[0][0][0][0][0][0][0][0][0]…");
  // 61 arrays make 64 levels: the request is read, and refused only because the json format
  // has no arrays of arrays.
  CHECK_THROWS_WITH_AS(parse_request(nested(61)), doctest::Contains("target.attributes.deep"),
                       RequestError);
  try {
    parse_request(nested(61));
  } catch (const RequestError& e) {
    CHECK(std::string(e.what()).find("nested more than") == std::string::npos);
  }
  // Invalid UTF-8 anywhere in the line is refused where it is.
  CHECK_THROWS_WITH_AS(parse_request("{\"message\":\"Cr\xff\"}"),
                       doctest::Contains("invalid UTF-8 at line 1, column 15"), RequestError);
  // So is an escape that decodes to no character.
  CHECK_THROWS_WITH_AS(parse_request(R"({"message":"Cr\udc00eate"})"),
                       doctest::Contains("a \\u escape of a lone surrogate"), RequestError);
}

TEST_CASE("a key with a control character is named with it escaped, not cut short at a NUL") {
  // A NUL in a key once ended the error's what() before its path, and reading the problem out
  // of what() threw std::out_of_range past the request's error handling.
  CHECK(
      path_of_error(
          R"({"message":"Create","target":{"logicalName":"account","attributes":{"a\u0000b":{"@type":"money"}}}})") ==
      "target.attributes.a\\u0000b");
  CHECK_THROWS_WITH_AS(parse_request(R"({"message":"Create","target":{"log\u0000x":{}}})"),
                       doctest::Contains("target.log\\u0000x: unknown member"), RequestError);
  CHECK(path_of_error(R"({"message":"Create","ta\nrget":{}})") == "ta\\u000arget");
}

TEST_CASE("a request's numbers keep their value: the nearest double, zeros stay zero") {
  auto r = parse_request(R"({"message":"Create","target":{"logicalName":"account",
    "attributes":{"exact":123456789.12345678901,"zero":0e57,"small":2.2250738585072011e-308}}})");
  const Entity& target = r.parameters.at("Target").as<Entity>();
  CHECK(target.attributes.at("exact") == Value(123456789.12345679));
  CHECK(target.attributes.at("zero") == Value(0.0));
  CHECK(target.attributes.at("small") == Value(2.2250738585072009e-308));
}

TEST_CASE("the host runs JSON requests against the record store in its data folder") {
  TempFolder data;
  auto r = make_registration(
      {make_step("validate", "Create", "account", Stage::pre_validation, "validate")});
  r.host.data_folder = data.path() / "data";
  TestFactory factory;
  factory.add("validate", [](ExecutionContext& c, Services& s) {
    if (!c.target()->contains("name")) throw InvalidPluginExecution("An account needs a name.");
    s.tracing().trace("ok");
  });
  host::Host h(std::move(r), factory);
  CHECK(std::filesystem::exists(data.path() / "data" / "stepline.db"));

  auto created = h.execute(std::string_view(
      R"({"message":"Create","target":{"logicalName":"account","attributes":{"name":"Contoso"}}})"));
  REQUIRE(created.ok());
  auto id = created.output_parameters.at("id").as<Guid>();
  auto line = host::intake::write_response(created);
  CHECK(line.find(R"("outcome":"succeeded")") != std::string::npos);
  CHECK(line.find(R"("outputParameters":{"id":{"@type":"guid","value":")" + id.str()) !=
        std::string::npos);
  CHECK(line.find(R"("traces":["validate: ok"])") != std::string::npos);

  auto fetched = h.execute(
      std::string_view(R"({"message":"Retrieve","target":{"logicalName":"account","id":")" +
                       id.str() + R"("},"columns":["name"]})"));
  REQUIRE(fetched.ok());
  CHECK(fetched.output_parameters.at("BusinessEntity").as<Entity>().get("name") ==
        Value("Contoso"));

  auto rejected = h.execute(std::string_view(
      R"({"message":"Create","target":{"logicalName":"account","attributes":{}}})"));
  CHECK(rejected.outcome == host::pipeline::Outcome::rejected);
  auto rejected_line = host::intake::write_response(rejected);
  CHECK(rejected_line.find(R"("outcome":"rejected")") != std::string::npos);
  CHECK(rejected_line.find(R"("message":"An account needs a name.")") != std::string::npos);

  auto invalid = h.execute(std::string_view(
      R"({"message":"Create","target":{"logicalName":"account","attributes":{"n":{"@type":"bogus"}}}})"));
  CHECK(invalid.outcome == host::pipeline::Outcome::invalid_request);
  CHECK(invalid.error_message.find("target.attributes.n") == 0);
  // A table name with a control character: refused before any step or store sees it (PostgreSQL
  // would end the name at a NUL, and take the record for account's, past account's steps).
  auto control = h.execute(std::string_view(
      R"({"message":"Create","target":{"logicalName":"account\u0000x","attributes":{"name":"N"}}})"));
  CHECK(control.outcome == host::pipeline::Outcome::failed);
  CHECK(control.error_code == host::pipeline::error_code::invalid_argument);
  CHECK(control.error_message ==
        "Create: the table name \"account\\u0000x\" holds a control character; a table's logical "
        "name is letters, digits and underscores");
  CHECK(h.store().retrieve_multiple({.entity_name = "account"}).entities.size() == 1);

  // A page the store will not hold in memory is the query's fault: invalid, saying what to ask.
  const std::string large(1 << 20, 'x');
  for (int i = 0; i < 65; ++i) {
    Entity big("note");
    big.set("text", Value(large));
    h.store().create(big);
  }
  auto whole = h.execute(
      std::string_view(R"({"message":"RetrieveMultiple","query":{"logicalName":"note"}})"));
  CHECK(whole.outcome == host::pipeline::Outcome::failed);
  CHECK(whole.error_code == host::pipeline::error_code::invalid_argument);
  CHECK(whole.error_message.find("ask for fewer records a page") != std::string::npos);
  auto paged = h.execute(std::string_view(
      R"({"message":"RetrieveMultiple","query":{"logicalName":"note","pageSize":10}})"));
  CHECK(paged.ok());
}

TEST_CASE("submitted operations are answered on the intake thread, in order, once committed") {
  TempFolder data;
  auto r = make_registration({});
  r.host.data_folder = data.path() / "data";
  TestFactory factory;
  constexpr int operations = 200;
  std::mutex mutex;
  std::condition_variable answered;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  int visible = 0, failed = 0;
  bool extra_answered = false;
  auto create = [](int n) {
    return host::pipeline::OperationRequest{
        .message = "Create", .parameters = {{"Target", Value(Entity("account", fixed_guid(n)))}}};
  };
  {
    host::Host h(std::move(r), factory);
    // Another connection sees only what is committed.
    host::store::SqliteRecordStore other(data.path() / "data" / "stepline.db");
    for (int n = 1; n <= operations; ++n) {
      h.submit(create(n), [&, n](host::pipeline::OperationResponse response) {
        const bool committed =
            other.retrieve("account", fixed_guid(n), ColumnSet::all()).has_value();
        if (n == 1)  // from the handler itself: queued, never waited for
          h.submit(create(operations + 1), [&](host::pipeline::OperationResponse extra) {
            std::lock_guard lock(mutex);
            extra_answered = extra.ok();
            answered.notify_all();
          });
        std::lock_guard lock(mutex);
        order.push_back(n);
        threads.push_back(std::this_thread::get_id());
        if (committed) ++visible;
        if (!response.ok()) ++failed;
        answered.notify_all();
      });
    }
    std::unique_lock lock(mutex);
    REQUIRE(answered.wait_for(lock, std::chrono::seconds(60), [&] {
      return static_cast<int>(order.size()) == operations && extra_answered;
    }));
    CHECK(h.store().commits() < static_cast<std::uint64_t>(operations));
  }
  CHECK(failed == 0);
  CHECK(visible == operations);
  for (int i = 0; i < operations; ++i) CHECK(order[static_cast<std::size_t>(i)] == i + 1);
  for (auto id : threads) CHECK(id != std::this_thread::get_id());
  CHECK(extra_answered);
}

namespace {

/// A host whose Create of an account takes `slow` in a step (other entities none), with
/// `linger` for its intake, submitting and waiting on the caller's thread.
struct LingerRig {
  LingerRig(std::chrono::milliseconds slow, std::chrono::microseconds linger) {
    auto r =
        make_registration({make_step("slow", "Create", "account", Stage::pre_operation, "slow")});
    r.host.data_folder = data.path() / "data";
    factory.add("slow",
                [slow](ExecutionContext&, Services&) { std::this_thread::sleep_for(slow); });
    h.emplace(std::move(r), factory, host::HostOptions{.intake_linger = linger});
  }
  /// Submits a Create of `entity`; the future is ready once it is answered (true = ok).
  std::future<bool> submit(const char* entity, int n) {
    auto answered = std::make_shared<std::promise<bool>>();
    auto ready = answered->get_future();
    h->submit(
        {.message = "Create", .parameters = {{"Target", Value(Entity(entity, fixed_guid(n)))}}},
        [answered](host::pipeline::OperationResponse response) {
          answered->set_value(response.ok());
        });
    return ready;
  }
  TempFolder data;
  TestFactory factory;
  std::optional<host::Host> h;
};

/// How many commits a slow operation, one that arrives while it runs, and one submitted 20 ms
/// after the slow one is answered take.
std::uint64_t commits_for_three(std::chrono::microseconds linger) {
  LingerRig rig(std::chrono::milliseconds(100), linger);
  const auto before = rig.h->store().commits();
  auto slow = rig.submit("account", 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the slow one is running
  auto during = rig.submit("contact", 2);
  CHECK(slow.get());
  // A moment later, well inside the linger's wait (100 ms) and well after a batch that does not
  // wait has started: otherwise the intake and this thread race to the queue.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto after = rig.submit("contact", 3);
  CHECK(during.get());
  CHECK(after.get());
  return rig.h->store().commits() - before;
}

}  // namespace

TEST_CASE(
    "an operation that arrives while a batch runs waits a moment for others to share a commit") {
  // It came from another caller than the one the batch answers, so more may follow: the intake
  // waits for them up to the linger, and at most as long as the last batch took (100 ms here),
  // and the one submitted 20 ms after the slow one's answer joins its batch.
  CHECK(commits_for_three(std::chrono::seconds(1)) == 2);
  // Without the linger each is a batch and a commit of its own.
  CHECK(commits_for_three(std::chrono::microseconds(0)) == 3);
}

TEST_CASE("a caller with one operation in flight is never kept waiting for others") {
  // Nothing arrives while its operation runs, so the intake starts each batch at once, however
  // long the linger and the last batch.
  LingerRig rig(std::chrono::milliseconds(40), std::chrono::seconds(1));
  constexpr int operations = 10;
  const auto started = std::chrono::steady_clock::now();
  for (int n = 1; n <= operations; ++n) CHECK(rig.submit("account", n).get());
  const auto took = std::chrono::steady_clock::now() - started;
  // 10 × 40 ms in the step; waiting as long as each last batch took would double it.
  CHECK(took < std::chrono::milliseconds(operations * 40 * 3 / 2));
}

TEST_CASE("a host that goes away first runs and answers what was submitted") {
  TempFolder data;
  auto r = make_registration({});
  r.host.data_folder = data.path() / "data";
  TestFactory factory;
  std::atomic<int> answered{0};
  {
    host::Host h(std::move(r), factory);
    for (int n = 1; n <= 300; ++n)
      h.submit({.message = "Create",
                .parameters = {{"Target", Value(Entity("account", fixed_guid(n)))}}},
               [&](host::pipeline::OperationResponse response) {
                 if (response.ok()) ++answered;
               });
  }
  CHECK(answered == 300);
  host::store::SqliteRecordStore store(data.path() / "data" / "stepline.db");
  CHECK(store.retrieve_multiple({.entity_name = "account"}).entities.size() == 300);
}

namespace {
/// An async service that has no room for jobs until it is told to: counts how often it is asked.
class FullHandoff : public host::store::JobHandoff {
 public:
  bool claim(host::store::SystemJob&) override { return false; }
  void committed(std::vector<host::store::SystemJob>) override {}
  void abandoned(std::size_t) override {}
  host::store::HandoffRoom room() const noexcept override {
    ++asked;
    return {.free = room_now.load(), .finished = finished.load()};
  }
  mutable std::atomic<int> asked{0};
  std::atomic<std::size_t> room_now{0};
  std::atomic<std::uint64_t> finished{0};
};
}  // namespace

TEST_CASE("submitted operations give a service that is behind a moment, and then go on") {
  TempFolder data;
  auto r = make_registration({});
  r.host.data_folder = data.path() / "data";
  TestFactory factory;
  host::Host h(std::move(r), factory);
  FullHandoff service;
  REQUIRE(h.store().attach_handoff(service));
  std::mutex mutex;
  std::condition_variable answered;
  int ok = 0;
  auto submit = [&](int n) {
    h.submit(
        {.message = "Create", .parameters = {{"Target", Value(Entity("account", fixed_guid(n)))}}},
        [&](host::pipeline::OperationResponse response) {
          std::lock_guard lock(mutex);
          if (response.ok()) ++ok;
          answered.notify_all();
        });
  };
  // No room at all: the intake waits a little for each batch (5 ms without the service
  // finishing anything), then runs it anyway.
  const auto started = std::chrono::steady_clock::now();
  submit(1);
  {
    std::unique_lock lock(mutex);
    REQUIRE(answered.wait_for(lock, std::chrono::seconds(10), [&] { return ok == 1; }));
  }
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(5));
  CHECK(service.asked > 2);
  // With room, it asks once and goes on at once.
  service.room_now = 1000;
  const int asked = service.asked;
  submit(2);
  {
    std::unique_lock lock(mutex);
    REQUIRE(answered.wait_for(lock, std::chrono::seconds(10), [&] { return ok == 2; }));
  }
  CHECK(service.asked == asked + 1);

  // A caller of execute() is paced the same way: a service that finishes nothing costs it the
  // stall's 5 ms, not more.
  service.room_now = 0;
  const int asked_before = service.asked;
  const auto executed = std::chrono::steady_clock::now();
  CHECK(h.execute({.message = "Create",
                   .parameters = {{"Target", Value(Entity("account", fixed_guid(3)))}}})
            .ok());
  const auto took = std::chrono::steady_clock::now() - executed;
  CHECK(took >= std::chrono::milliseconds(5));
  CHECK(took < std::chrono::seconds(5));
  CHECK(service.asked > asked_before + 2);
  // The service is stalled now: the next call asks once and does not wait, until it finishes
  // something and is waited for again.
  const int asked_stalled = service.asked;
  CHECK(h.execute({.message = "Create",
                   .parameters = {{"Target", Value(Entity("account", fixed_guid(4)))}}})
            .ok());
  CHECK(service.asked == asked_stalled + 1);
  service.room_now = 0;
  CHECK(h.execute({.message = "Create",
                   .parameters = {{"Target", Value(Entity("account", fixed_guid(5)))}}})
            .ok());
  CHECK(service.asked == asked_stalled + 2);
  service.finished = 1;  // it finished one, and has still no room
  const int asked_again = service.asked;
  CHECK(h.execute({.message = "Create",
                   .parameters = {{"Target", Value(Entity("account", fixed_guid(6)))}}})
            .ok());
  CHECK(service.asked > asked_again + 2);
  // A service that keeps finishing jobs without room (it works off jobs that wait in the
  // database) is waited for up to 20 ms, not taken for stalled after 5.
  std::atomic<bool> working{true};
  ++service.finished;
  std::thread worker([&] {
    while (working) {
      ++service.finished;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const auto waited = std::chrono::steady_clock::now();
  CHECK(h.execute({.message = "Create",
                   .parameters = {{"Target", Value(Entity("account", fixed_guid(7)))}}})
            .ok());
  const auto paced = std::chrono::steady_clock::now() - waited;
  working = false;
  worker.join();
  CHECK(paced >= std::chrono::milliseconds(20));
  CHECK(paced < std::chrono::seconds(5));
  h.store().detach_handoff(service);
}
