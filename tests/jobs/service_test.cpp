// The async service end to end in one process: operations queue jobs through the pipeline's
// outbox, workers run them against a scripted poster or in-process plug-ins, and the job rows
// show what happened.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <stepline/host/host.hpp>

#include "jobs/fixture.hpp"

using namespace stepline;
using namespace stepline::test;
using host::amqp::Outcome;
using host::jobs::AsyncService;
using host::store::JobStatus;
using host::store::status_of;
using host::store::SystemJob;

namespace {

/// A registration with one async endpoint step (or plug-in step) on account Update.
struct ServiceRig {
  explicit ServiceRig(std::vector<registration::Step> steps,
                      std::vector<registration::ServiceEndpoint> endpoints = {})
      : rig(with_endpoints(std::move(steps), std::move(endpoints))) {}

  static registration::Registration with_endpoints(
      std::vector<registration::Step> steps, std::vector<registration::ServiceEndpoint> endpoints) {
    auto r = make_registration(std::move(steps));
    r.endpoints = std::move(endpoints);
    return r;
  }

  std::unique_ptr<AsyncService> service(host::jobs::AsyncServiceOptions o = test_options(),
                                        bool with_poster = true) {
    return std::make_unique<AsyncService>(rig.pipeline, rig.store.location(),
                                          with_poster ? &poster : nullptr, o);
  }

  /// Creates an account and updates its name `updates` times; returns its id.
  Guid account_with_updates(int updates, const std::string& name = "Contoso") {
    auto id = rig.create(account(name)).output_parameters.at("id").as<Guid>();
    for (int i = 0; i < updates; ++i) {
      Entity change("account", id);
      change.set("name", Value(name + " " + std::to_string(i)));
      REQUIRE(rig.update(change).ok());
    }
    return id;
  }

  std::vector<SystemJob> jobs() { return rig.store.system_jobs(); }
  SystemJob only_job() {
    auto all = jobs();
    REQUIRE(all.size() == 1);
    return all.front();
  }
  bool all_in(JobStatus status) {
    auto all = jobs();
    return !all.empty() && std::all_of(all.begin(), all.end(),
                                       [&](const SystemJob& j) { return status_of(j) == status; });
  }

  ScriptedPoster poster;
  Rig rig;
};

}  // namespace

TEST_CASE("an accepted post makes the job Succeeded with its timing, and releases the lease") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3))});
  s.account_with_updates(1);
  auto queued = s.only_job();
  CHECK(status_of(queued) == JobStatus::ready);
  CHECK(queued.sequence > 0);

  auto service = s.service();
  service->start();
  REQUIRE(eventually([&] { return s.all_in(JobStatus::succeeded); }));
  auto job = s.only_job();
  CHECK(job.state_code == 3);
  CHECK(job.status_code == 30);
  CHECK(job.retry_count == 0);
  CHECK(job.execution_time_ms.has_value());
  CHECK(job.completed_on.has_value());
  CHECK(job.started_on.has_value());
  CHECK(job.lease_owner.empty());
  CHECK_FALSE(job.error_code.has_value());

  auto posts = s.poster.all_posts();
  REQUIRE(posts.size() == 1);
  CHECK(posts[0].endpoint == "orders");
  CHECK(posts[0].operation_id == job.id);  // OperationId = the job's id
  CHECK(posts[0].mode == Mode::asynchronous);
  CHECK_FALSE(posts[0].in_transaction);
  CHECK(posts[0].ordering_key.empty());  // order: none
  service->stop();  // the counters are updated after the job's row; stopping settles both
  CHECK(service->stats().succeeded == 1);
}

TEST_CASE("a post that throws fails its job, and the worker goes on to the others") {
  // The service starts posts with callbacks where the poster has them, else with futures.
  bool callbacks = true;
  SUBCASE("a poster with callbacks") {
    callbacks = true;
  }
  SUBCASE("a poster with futures only") {
    callbacks = false;
  }
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3))});
  s.poster.with_callbacks = callbacks;
  std::atomic<int> posts{0};
  s.poster.decide = [&](const ScriptedPoster::Post&, int) {
    if (++posts == 2) throw std::invalid_argument("no such link");
    return Outcome::accepted();
  };
  s.account_with_updates(4);
  auto service = s.service();
  service->start();
  REQUIRE(eventually([&] {
    auto all = s.jobs();
    return all.size() == 4 && std::all_of(all.begin(), all.end(),
                                          [](const SystemJob& j) { return j.state_code == 3; });
  }));
  std::size_t failed = 0;
  for (const auto& job : s.jobs()) {
    if (status_of(job) != JobStatus::failed) continue;
    ++failed;
    CHECK(job.message_text.find("no such link") != std::string::npos);
  }
  CHECK(failed == 1);
  service->stop();
  CHECK(service->stats().succeeded == 3);
}

TEST_CASE("a job whose context in the context log is damaged fails, saying so; the rest go") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3))});
  s.account_with_updates(3);  // no service yet: the jobs wait Ready in the database
  auto before = s.jobs();
  REQUIRE(before.size() == 3);
  // One byte of the second job's context changed on the disk.
  const auto segment =
      std::filesystem::path(s.rig.store.location().file.string() + "-contexts") / "00000001.log";
  std::string bytes;
  {
    std::ifstream in(segment, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto at = bytes.find(before[1].context);
  REQUIRE(at != std::string::npos);
  {
    std::fstream io(segment, std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(static_cast<std::streamoff>(at + 1));
    io.put('#');
  }
  auto service = s.service();
  service->start();
  REQUIRE(eventually([&] {
    auto all = s.jobs();
    return std::all_of(all.begin(), all.end(),
                       [](const SystemJob& j) { return j.state_code == 3; });
  }));
  service->stop();
  for (const auto& job : s.jobs()) {
    if (job.id == before[1].id) {
      CHECK(status_of(job) == JobStatus::failed);
      CHECK(job.message_text.find("the frozen context of system job " + job.id.str() + " (" +
                                  segment.string()) != std::string::npos);
      CHECK(job.message_text.find("do not match their hash") != std::string::npos);
    } else {
      CHECK(status_of(job) == JobStatus::succeeded);
    }
  }
  CHECK(s.poster.all_posts().size() == 2);
}

namespace {
/// A taker that takes nothing: attaching it shows whether a service took the store's jobs.
struct IdleTaker : host::store::JobHandoff {
  bool claim(SystemJob&) override { return false; }
  void committed(std::vector<SystemJob>) override {}
  void abandoned(std::size_t) override {}
};
}  // namespace

TEST_CASE("jobs of operations run while the service runs are handed over at their commit") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3))});
  auto options = test_options();
  options.poll = std::chrono::hours(1);  // after its first look, no worker looks again
  IdleTaker other;
  SUBCASE("handed over: runs at once") {
    auto service = s.service(options);
    service->start();
    CHECK_FALSE(s.rig.store.attach_handoff(other));  // the service is the store's taker
    s.account_with_updates(3);
    CHECK(eventually([&] { return s.jobs().size() == 3 && s.all_in(JobStatus::succeeded); }));
    service->stop();
    CHECK(service->stats().succeeded == 3);
    CHECK(s.rig.store.attach_handoff(other));  // and no longer once stopped
    s.rig.store.detach_handoff(other);
  }
  SUBCASE("not handed over: the store has no taker") {
    options.handoff = false;
    auto service = s.service(options);
    service->start();
    CHECK(s.rig.store.attach_handoff(other));
    s.rig.store.detach_handoff(other);
    service->stop();
  }
}

TEST_CASE("jobs beyond the hand-off window wait Ready in the database, and still run") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3))});
  s.poster.hold();  // posts stay unanswered: handed-over jobs stay in hand
  auto options = test_options();
  options.handoff_window = 2;
  options.workers = 1;
  options.batch = 1;  // the one worker blocks on its first post
  options.poll = std::chrono::hours(1);
  auto service = s.service(options);
  service->start();
  s.account_with_updates(5);
  std::size_t leased = 0, ready = 0;
  for (const auto& j : s.jobs()) {
    if (status_of(j) == JobStatus::in_progress && j.lease_owner == service->owner()) ++leased;
    if (status_of(j) == JobStatus::ready) ++ready;
  }
  // Two were handed over (written In progress); the others were written Ready, and the worker
  // may have taken one of those from the database before it blocked on a handed-over one.
  CHECK(leased >= 2);
  CHECK(leased <= 3);
  CHECK(leased + ready == 5);
  service->stop(std::chrono::milliseconds(100));
  s.poster.release();
  CHECK(s.all_in(JobStatus::ready));  // handed back at stop, nothing lost
  auto again = s.service(test_options());
  again->start();
  CHECK(eventually([&] { return s.all_in(JobStatus::succeeded); }));
}

TEST_CASE("a transient failure makes the job Waiting with its next attempt, then it succeeds") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(5, std::chrono::milliseconds(300)))});
  s.poster.decide = [](const ScriptedPoster::Post&, int attempt) {
    return attempt == 1 ? Outcome::failure("com.microsoft:server-busy", "orders is busy")
                        : Outcome::accepted();
  };
  s.account_with_updates(1);
  auto service = s.service();
  auto before = now_utc();
  service->start();

  REQUIRE(eventually([&] { return s.all_in(JobStatus::waiting); }));
  auto waiting = s.only_job();
  CHECK(waiting.state_code == 1);
  CHECK(waiting.status_code == 10);
  CHECK(waiting.retry_count == 1);
  REQUIRE(waiting.postpone_until);
  // jitter 0: exactly the base delay after the attempt
  CHECK(*waiting.postpone_until >= before + std::chrono::milliseconds(300));
  CHECK(*waiting.postpone_until <= now_utc() + std::chrono::milliseconds(300));
  CHECK(waiting.error_code == host::store::job_error::endpoint_post);
  CHECK(waiting.message_text.find("com.microsoft:server-busy") != std::string::npos);
  CHECK(waiting.friendly_message.find("attempt 1 of 5") != std::string::npos);
  CHECK(waiting.lease_owner.empty());

  REQUIRE(eventually([&] { return s.all_in(JobStatus::succeeded); }));
  auto done = s.only_job();
  CHECK(done.retry_count == 1);
  CHECK(s.poster.all_posts().size() == 2);
  CHECK(*done.completed_on >= *waiting.postpone_until);
}

TEST_CASE("transient failures past the policy's attempts fail the job and keep its context") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3, std::chrono::milliseconds(10)))});
  s.poster.decide = [](const ScriptedPoster::Post&, int) {
    return Outcome::failure("stepline:network", "connection refused");
  };
  s.account_with_updates(1);
  auto service = s.service();
  service->start();
  REQUIRE(eventually([&] { return s.all_in(JobStatus::failed); }));
  auto job = s.only_job();
  CHECK(job.state_code == 3);
  CHECK(job.status_code == 31);
  CHECK(s.poster.all_posts().size() == 3);
  CHECK(job.retry_count == 2);
  CHECK(job.friendly_message.find("gave up after 3 attempts") != std::string::npos);
  CHECK(job.friendly_message.find("stepline jobs retry " + job.id.str()) != std::string::npos);
  CHECK(job.message_text.find("stepline:network") != std::string::npos);
  CHECK_FALSE(job.context.empty());
  service->stop();  // the counters are updated after the job's row; stopping settles both
  CHECK(service->stats().retries == 2);
  CHECK(service->stats().failed == 1);
}

TEST_CASE("a permanent failure fails the job at once, an unauthorized post too") {
  std::string condition;
  SUBCASE("the entity does not exist") {
    condition = "amqp:not-found";
  }
  SUBCASE("the credentials are refused after the token refresh") {
    condition = "amqp:unauthorized-access";
  }
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(5))});
  s.poster.decide = [&](const ScriptedPoster::Post&, int) {
    return Outcome::failure(condition, "refused by the service");
  };
  s.account_with_updates(1);
  auto service = s.service();
  service->start();
  REQUIRE(eventually([&] { return s.all_in(JobStatus::failed); }));
  auto job = s.only_job();
  CHECK(job.retry_count == 0);
  CHECK(s.poster.all_posts().size() == 1);
  CHECK(job.error_code == host::store::job_error::endpoint_post);
  CHECK(job.message_text == condition + ": refused by the service");
  CHECK(job.friendly_message.find("retrying cannot help") != std::string::npos);
}

TEST_CASE("a job whose endpoint is no longer registered fails, naming the endpoint") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(5))});
  s.account_with_updates(1);
  auto r = s.rig.pipeline.registration();
  auto changed = *r;
  changed.endpoints.clear();
  changed.steps.clear();
  s.rig.pipeline.load(changed);
  auto service = s.service();
  service->start();
  REQUIRE(eventually([&] { return s.all_in(JobStatus::failed); }));
  CHECK(s.only_job().friendly_message.find("'orders'") != std::string::npos);
  CHECK(s.poster.all_posts().empty());
}

TEST_CASE(
    "an async plug-in runs with the frozen context and its nested requests run the pipeline") {
  auto on_update = async_plugin_step("audit", "audit");
  auto on_contact = make_step("see contact", "Create", "contact", Stage::pre_operation, "see");
  ServiceRig s({on_update, on_contact});
  std::optional<ExecutionContext> seen;
  std::optional<ExecutionContext> nested;
  s.rig.factory.add("audit", [&](ExecutionContext& c, Services& services) {
    seen = c;
    services.tracing().trace("auditing {}", c.primary_entity_id.str());
    Entity contact("contact");
    contact.set("parentcustomerid", Value(EntityReference{"account", c.primary_entity_id, {}}));
    services.organization().create(contact);
  });
  s.rig.factory.add("see", [&](ExecutionContext& c, Services&) { nested = c; });
  auto id = s.account_with_updates(1);
  auto queued = s.only_job();
  auto service = s.service({}, false);  // plug-in jobs need no poster
  service->start();
  REQUIRE(eventually([&] { return s.all_in(JobStatus::succeeded); }));

  REQUIRE(seen);
  CHECK(seen->mode == Mode::asynchronous);
  CHECK_FALSE(seen->is_in_transaction);
  CHECK(seen->operation_id == queued.id);
  CHECK(seen->operation_created_on == queued.created_on);
  CHECK(seen->primary_entity_id == id);
  CHECK(seen->stage == Stage::post_operation);
  REQUIRE(nested);
  CHECK(nested->depth == 2);
  CHECK(nested->correlation_id == seen->correlation_id);
  CHECK(nested->mode == Mode::synchronous);
  CHECK(nested->is_in_transaction);
  auto job = s.only_job();
  CHECK(job.trace == "audit: auditing " + id.str());
  auto contacts = s.rig.store.retrieve_multiple({.entity_name = "contact"});
  CHECK(contacts.entities.size() == 1);
}

TEST_CASE("a plug-in asking for a retry runs up to the host policy's attempts, then fails") {
  ServiceRig s({async_plugin_step("flaky", "flaky")});
  std::atomic<int> runs{0};
  int succeed_on = 0;
  SUBCASE("it succeeds on the third run") {
    succeed_on = 3;
  }
  SUBCASE("it never succeeds") {
    succeed_on = 0;
  }
  s.rig.factory.add("flaky", [&](ExecutionContext&, Services&) {
    if (++runs != succeed_on)
      throw InvalidPluginExecution("the ledger is locked", OperationStatus::retry, 42);
  });
  s.account_with_updates(1);
  auto o = test_options();
  o.plugin_retry = quick_retry(4, std::chrono::milliseconds(10));
  auto service = s.service(o, false);
  service->start();
  if (succeed_on) {
    REQUIRE(eventually([&] { return s.all_in(JobStatus::succeeded); }));
    CHECK(runs == 3);
    CHECK(s.only_job().retry_count == 2);
  } else {
    REQUIRE(eventually([&] { return s.all_in(JobStatus::failed); }));
    CHECK(runs == 4);
    auto job = s.only_job();
    CHECK(job.retry_count == 3);
    CHECK(job.error_code == 42);
    CHECK(job.friendly_message.find("the ledger is locked; gave up after 4 attempts") == 0);
  }
}

TEST_CASE("a plug-in failing without asking for a retry fails the job at once") {
  ServiceRig s({async_plugin_step("strict", "strict")});
  bool unexpected = false;
  SUBCASE("InvalidPluginExecution") {
    unexpected = false;
  }
  SUBCASE("any other exception") {
    unexpected = true;
  }
  std::atomic<int> runs{0};
  s.rig.factory.add("strict", [&](ExecutionContext&, Services& services) {
    ++runs;
    services.tracing().trace("checking");
    if (unexpected) throw std::runtime_error("null pointer in the ledger");
    throw InvalidPluginExecution("credit limit exceeded");
  });
  s.account_with_updates(1);
  auto service = s.service({}, false);
  service->start();
  REQUIRE(eventually([&] { return s.all_in(JobStatus::failed); }));
  CHECK(runs == 1);
  auto job = s.only_job();
  CHECK(job.trace == "strict: checking");
  if (unexpected) {
    CHECK(job.error_code == host::pipeline::error_code::unexpected);
    CHECK(job.friendly_message.find("trace id") != std::string::npos);
    CHECK(job.friendly_message.find("null pointer") == std::string::npos);  // details: the log
  } else {
    CHECK(job.error_code == InvalidPluginExecution::default_error_code);
    CHECK(job.friendly_message == "credit limit exceeded");
    CHECK(job.message_text == "step 'strict': credit limit exceeded");
  }
}

TEST_CASE("a succeeded job of an auto_delete step is removed, a failed one is kept") {
  auto step = async_plugin_step("tidy", "tidy");
  step.auto_delete = true;
  ServiceRig s({step});
  s.rig.factory.add("tidy", [&](ExecutionContext& c, Services&) {
    if (c.input_parameters.at("Target").as<Entity>().get("name") == Value("Contoso 1"))
      throw InvalidPluginExecution("not this one");
  });
  s.account_with_updates(3);
  auto service = s.service({}, false);
  service->start();
  REQUIRE(eventually([&] { return service->stats().succeeded + service->stats().failed == 3; }));
  auto left = s.jobs();
  REQUIRE(left.size() == 1);
  CHECK(status_of(left[0]) == JobStatus::failed);
}

TEST_CASE("without a poster, endpoint jobs wait for a service that has one") {
  ServiceRig s({async_endpoint_step("publish", "orders"), async_plugin_step("audit", "audit")},
               {make_endpoint("orders", quick_retry(3))});
  s.rig.factory.add("audit", [](ExecutionContext&, Services&) {});
  s.account_with_updates(1);
  {
    auto plugins_only = s.service({}, false);
    plugins_only->start();
    REQUIRE(eventually([&] { return plugins_only->stats().succeeded == 1; }));
    plugins_only->stop();
  }
  std::map<std::string, JobStatus> by_step;
  for (auto& j : s.jobs()) by_step[j.step_name] = *status_of(j);
  CHECK(by_step["audit"] == JobStatus::succeeded);
  CHECK(by_step["publish"] == JobStatus::ready);
  auto full = s.service();
  full->start();
  REQUIRE(eventually([&] { return s.all_in(JobStatus::succeeded); }));
}

TEST_CASE("per-record order: one post in flight per record, in creation order, keyed by record") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3), registration::Ordering::per_record)});
  s.poster.delay = std::chrono::milliseconds(2);
  std::vector<Guid> records;
  for (int r = 0; r < 4; ++r)
    records.push_back(s.account_with_updates(6, "Acct" + std::to_string(r)));
  // creation order of each record's jobs
  std::map<Guid, std::vector<Guid>> created;
  for (auto& j : s.jobs()) {
    CHECK(j.ordering_key == "account:" + j.regarding_id.str());
    created[j.regarding_id].push_back(j.id);
  }
  auto o = test_options();
  o.workers = 4;
  auto service = s.service(o);
  service->start();
  REQUIRE(eventually([&] { return s.all_in(JobStatus::succeeded); }));
  std::map<Guid, std::vector<Guid>> posted;
  for (auto& p : s.poster.all_posts()) {
    CHECK(p.ordering_key == "account:" + p.record_id.str());
    posted[p.record_id].push_back(p.operation_id);
  }
  CHECK(posted == created);
  CHECK(s.poster.max_in_flight_per_key == 1);
}

TEST_CASE("per-record order survives a retry: later jobs of the record wait for the waiting one") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3, std::chrono::milliseconds(200)),
                              registration::Ordering::per_record)});
  auto failed_once = std::make_shared<std::atomic<bool>>(false);
  s.poster.decide = [failed_once](const ScriptedPoster::Post&, int attempt) {
    if (attempt == 1 && !failed_once->exchange(true))
      return Outcome::failure("stepline:timeout", "no answer");
    return Outcome::accepted();
  };
  auto id = s.account_with_updates(3);
  auto created = s.jobs();
  auto service = s.service();
  service->start();
  REQUIRE(eventually([&] { return s.all_in(JobStatus::succeeded); }));
  std::vector<Guid> order;
  for (auto& p : s.poster.all_posts())
    if (p.record_id == id) order.push_back(p.operation_id);
  REQUIRE(order.size() == 4);
  CHECK(order[0] == created[0].id);
  CHECK(order[1] == created[0].id);  // the retry comes before the record's later jobs
  CHECK(order[2] == created[1].id);
  CHECK(order[3] == created[2].id);
}

TEST_CASE("without ordering, jobs of one record run in parallel") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3))});
  s.account_with_updates(8);
  s.poster.hold();
  auto service = s.service();
  service->start();
  // All eight are posted before any completes: nothing serialises them.
  REQUIRE(s.poster.wait_held(8));
  CHECK(s.poster.max_in_flight_per_key == 8);
  s.poster.release();
  REQUIRE(eventually([&] { return s.all_in(JobStatus::succeeded); }));
}

TEST_CASE("stopping returns posts still in flight after the grace period to Ready") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3))});
  s.account_with_updates(5);
  s.poster.hold();
  auto service = s.service();
  service->start();
  REQUIRE(s.poster.wait_held(5));
  CHECK(s.all_in(JobStatus::in_progress));
  service->stop(std::chrono::milliseconds(100));
  CHECK(s.all_in(JobStatus::ready));
  for (auto& j : s.jobs()) {
    CHECK(j.lease_owner.empty());
    CHECK(j.retry_count == 0);  // handing back is not an attempt
  }
  CHECK(service->stats().released == 5);
  s.poster.release();  // the abandoned posts complete; nobody records them
  auto again = s.service();
  again->start();
  REQUIRE(eventually([&] { return s.all_in(JobStatus::succeeded); }));
}

TEST_CASE("stopping lets attempts that finish within the grace period be recorded") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3))});
  s.account_with_updates(3);
  s.poster.hold();
  auto service = s.service();
  service->start();
  REQUIRE(s.poster.wait_held(3));
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s.poster.release();
  });
  service->stop(std::chrono::seconds(10));
  releaser.join();
  CHECK(s.all_in(JobStatus::succeeded));
  CHECK(service->stats().released == 0);
}

TEST_CASE("a job canceled while in progress ends Canceled instead of Waiting") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3))});
  s.poster.decide = [](const ScriptedPoster::Post&, int) {
    return Outcome::failure("stepline:network", "down");
  };
  s.account_with_updates(1);
  s.poster.hold();
  auto service = s.service();
  service->start();
  REQUIRE(s.poster.wait_held(1));
  auto id = s.only_job().id;
  CHECK(service->store().cancel(id, now_utc()) == JobStatus::canceling);
  s.poster.release();
  REQUIRE(eventually([&] { return s.all_in(JobStatus::canceled); }));
  CHECK(s.poster.all_posts().size() == 1);
}

TEST_CASE("drain waits for the jobs created after a sequence number") {
  ServiceRig s({async_endpoint_step("publish", "orders")},
               {make_endpoint("orders", quick_retry(3))});
  s.poster.delay = std::chrono::milliseconds(20);
  auto service = s.service();
  auto mark = service->store().last_sequence();
  s.account_with_updates(10);
  service->start();
  CHECK(service->drain(mark, std::chrono::seconds(20)));
  CHECK(s.all_in(JobStatus::succeeded));
  auto counts = service->store().count(mark);
  CHECK(counts[JobStatus::succeeded] == 10);
  CHECK(service->store().count(service->store().last_sequence()).empty());
}

TEST_CASE("the registration's durability reaches the record store, the job store and checkpoints") {
  TempFolder data;
  TestFactory factory;
  factory.add("noop", [](ExecutionContext&, Services&) {});
  auto r = make_registration({async_plugin_step("count", "noop", "Create")});
  r.host.data_folder = data.path();
  r.host.durability = registration::Durability::full;
  host::Host full(r, factory);
  CHECK(full.store().durability() == registration::Durability::full);
  AsyncService service(full.pipeline(), full.store().location(), nullptr, test_options());
  CHECK(service.durability() == registration::Durability::full);
  // Operations and jobs commit with a full sync like any other.
  service.start();
  REQUIRE(
      full.execute({.message = "Create", .parameters = {{"Target", Value(account("A"))}}}).ok());
  CHECK(eventually([&] {
    auto jobs = full.store().system_jobs();
    return jobs.size() == 1 && status_of(jobs[0]) == JobStatus::succeeded;
  }));
  service.stop();

  auto options = test_options();
  options.durability = registration::Durability::normal;
  CHECK(AsyncService(full.pipeline(), full.store().location(), nullptr, options).durability() ==
        registration::Durability::normal);
  host::Host normal(
      r, factory,
      {.database = data.path() / "other.db", .durability = registration::Durability::normal});
  CHECK(normal.store().durability() == registration::Durability::normal);
  r.host.durability = registration::Durability::normal;
  host::Host by_default(r, factory, {.database = data.path() / "third.db"});
  CHECK(by_default.store().durability() == registration::Durability::normal);
  CHECK(AsyncService(by_default.pipeline(), by_default.store().location(), nullptr, test_options())
            .durability() == registration::Durability::normal);
}
