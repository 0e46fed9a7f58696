// Nested requests, loop protection, the depth limit, bypass options and the system-job outbox.
#include <doctest/doctest.h>

#include <stepline/format/json.hpp>
#include <stepline/host/store/sqlite_record_store.hpp>
#include "fixture.hpp"

using namespace stepline;
using namespace stepline::test;

TEST_CASE(
    "a post-operation plug-in's nested Update runs at depth 2 with the same correlation and its "
    "caller as parent") {
  auto create_contact =
      make_step("touch account", "Create", "contact", Stage::post_operation, "touch");
  auto on_account = make_step("see nested", "Update", "account", Stage::post_operation, "see");
  Rig rig({create_contact, on_account});
  std::optional<ExecutionContext> nested;
  Guid account_id;
  rig.factory.add("touch", [&](ExecutionContext& c, Services& s) {
    Entity change("account", account_id);
    change.set("primarycontactid", Value(EntityReference{"contact", c.primary_entity_id, {}}));
    s.organization().update(change);
    s.tracing().trace("updated {}", account_id.str());
  });
  rig.factory.add("see", [&](ExecutionContext& c, Services&) { nested = c; });
  account_id = rig.create(account("Contoso")).output_parameters.at("id").as<Guid>();

  auto response = rig.create(Entity("contact"));
  REQUIRE(response.ok());
  REQUIRE(nested);
  CHECK(nested->depth == 2);
  CHECK(nested->correlation_id == response.correlation_id);
  CHECK(nested->is_in_transaction);
  // The inner context's parent is the operation's own main-operation context, whose parent is
  // the calling step's context.
  REQUIRE(nested->parent_context);
  CHECK(nested->parent_context->stage == Stage::main_operation);
  CHECK(nested->parent_context->message_name == "Update");
  auto caller = nested->parent_context->parent_context;
  REQUIRE(caller);
  CHECK(caller->message_name == "Create");
  CHECK(caller->primary_entity_name == "contact");
  CHECK(caller->stage == Stage::post_operation);
  CHECK(caller->depth == 1);
  CHECK(caller->owning_extension.name == "touch account");
  CHECK(response.traces == std::vector<std::string>{"touch account: updated " + account_id.str()});
  auto stored = rig.read("account", account_id);
  CHECK(stored->get("primarycontactid").as<EntityReference>().id ==
        response.output_parameters.at("id").as<Guid>());
}

TEST_CASE("nested requests retrieve, query and delete through the pipeline") {
  Rig rig({make_step("cleanup", "Delete", "contact", Stage::pre_operation, "cleanup")});
  rig.factory.add("cleanup", [](ExecutionContext& c, Services& s) {
    auto& org = s.organization();
    auto self =
        org.retrieve("contact", c.primary_entity_id, ColumnSet{false, {"parentcustomerid"}});
    auto parent = self.get("parentcustomerid").as<EntityReference>();
    auto siblings = org.retrieve_multiple(
        {.entity_name = "contact", .conditions = {{"parentcustomerid", Value(parent)}}});
    if (siblings.entities.size() == 1) org.remove(parent.logical_name, parent.id);
  });
  auto parent_id = rig.create(account("Parent")).output_parameters.at("id").as<Guid>();
  Entity contact("contact");
  contact.set("parentcustomerid", Value(EntityReference{"account", parent_id, {}}));
  auto contact_id = rig.create(contact).output_parameters.at("id").as<Guid>();

  REQUIRE(rig.remove("contact", contact_id).ok());
  CHECK_FALSE(rig.read("contact", contact_id));
  CHECK_FALSE(rig.read("account", parent_id));
}

TEST_CASE("a nested change is rolled back with the operation that made it") {
  Rig rig({make_step("make task", "Create", "account", Stage::post_operation, "task", 1),
           make_step("reject", "Create", "account", Stage::post_operation, "reject", 2)});
  rig.factory.add("task",
                  [](ExecutionContext&, Services& s) { s.organization().create(Entity("task")); });
  rig.factory.add("reject",
                  [](ExecutionContext&, Services&) { throw InvalidPluginExecution("no"); });
  CHECK(rig.create(account("A")).outcome == host::pipeline::Outcome::rejected);
  CHECK(rig.store.retrieve_multiple({.entity_name = "task"}).entities.empty());
  CHECK(rig.store.retrieve_multiple({.entity_name = "account"}).entities.empty());
}

TEST_CASE(
    "a nested rejection caught by the calling plug-in leaves the outer operation to succeed") {
  Rig rig({make_step("try", "Create", "account", Stage::post_operation, "try"),
           make_step("refuse tasks", "Create", "task", Stage::pre_operation, "refuse")});
  std::string caught;
  rig.factory.add("try", [&](ExecutionContext&, Services& s) {
    try {
      s.organization().create(Entity("task"));
    } catch (const InvalidPluginExecution& e) {
      caught = e.what();
    }
  });
  rig.factory.add("refuse", [](ExecutionContext&, Services&) {
    throw InvalidPluginExecution("tasks are closed");
  });
  CHECK(rig.create(account("A")).ok());
  CHECK(caught == "tasks are closed");
  CHECK(rig.store.retrieve_multiple({.entity_name = "account"}).entities.size() == 1);
  CHECK(rig.store.retrieve_multiple({.entity_name = "task"}).entities.empty());
}

TEST_CASE(
    "a step that updates the record it was triggered by is stopped, naming the step and record") {
  Rig rig({make_step("recalculate", "Update", "account", Stage::post_operation, "recalc")});
  int runs = 0;
  rig.factory.add("recalc", [&](ExecutionContext& c, Services& s) {
    ++runs;
    Entity again("account", c.primary_entity_id);
    again.set("score", Value(runs));
    s.organization().update(again);
  });
  auto id = rig.create(account("A")).output_parameters.at("id").as<Guid>();
  Entity change("account", id);
  change.set("name", Value("B"));
  auto response = rig.update(change);
  CHECK(response.outcome == host::pipeline::Outcome::failed);
  CHECK(response.error_code == host::pipeline::error_code::infinite_loop);
  CHECK(response.error_message.find("loop") != std::string::npos);
  CHECK(response.error_message.find("'recalculate'") != std::string::npos);
  CHECK(response.error_message.find("account " + id.str()) != std::string::npos);
  CHECK(runs == 1);
  CHECK(rig.read("account", id)->get_as<std::string>("name") == "A");
}

TEST_CASE("a chain of nested operations stops at host.max_depth") {
  auto r =
      make_registration({make_step("spawn", "Create", "account", Stage::post_operation, "spawn")});
  r.host.max_depth = 3;
  Rig rig(std::move(r));
  int deepest = 0;
  rig.factory.add("spawn", [&](ExecutionContext& c, Services& s) {
    deepest = std::max(deepest, c.depth);
    s.organization().create(account("child"));
  });
  auto response = rig.create(account("root"));
  CHECK(response.outcome == host::pipeline::Outcome::failed);
  CHECK(response.error_message.find("maximum depth 3") != std::string::npos);
  CHECK(deepest == 3);
  CHECK(rig.store.retrieve_multiple({.entity_name = "account"}).entities.empty());
}

TEST_CASE("bypass options skip custom steps except those that can not be bypassed") {
  auto sync_step = make_step("sync", "Create", "account", Stage::pre_operation, "sync");
  auto pinned = make_step("pinned", "Create", "account", Stage::pre_operation, "pinned");
  pinned.can_be_bypassed = false;
  auto async_step = make_step("async", "Create", "account", Stage::post_operation, "async");
  async_step.mode = Mode::asynchronous;
  auto by_id = make_step("by id", "Create", "account", Stage::post_operation, "byid");
  Rig rig({sync_step, pinned, async_step, by_id});
  std::vector<std::string> ran;
  for (const char* type : {"sync", "pinned", "byid"})
    rig.factory.add(type, [&ran, type](ExecutionContext&, Services&) { ran.push_back(type); });
  auto jobs = [&] { return rig.store.system_jobs().size(); };

  SUBCASE("CustomSync") {
    REQUIRE(rig.create(account("A")).ok());
    CHECK(ran == std::vector<std::string>{"sync", "pinned", "byid"});
    CHECK(jobs() == 1);
    ran.clear();
    auto r = rig.pipeline.execute(
        {.message = "Create",
         .parameters = {{"Target", Value(account("B"))},
                        {"BypassBusinessLogicExecution", Value("CustomSync")}}});
    REQUIRE(r.ok());
    CHECK(ran == std::vector<std::string>{"pinned"});
    CHECK(jobs() == 2);
  }
  SUBCASE("CustomAsync and both") {
    REQUIRE(rig.pipeline
                .execute({.message = "Create",
                          .parameters = {{"Target", Value(account("B"))},
                                         {"BypassBusinessLogicExecution", Value("CustomAsync")}}})
                .ok());
    CHECK(ran == std::vector<std::string>{"sync", "pinned", "byid"});
    CHECK(jobs() == 0);
    ran.clear();
    REQUIRE(rig.pipeline
                .execute({.message = "Create",
                          .parameters = {{"Target", Value(account("C"))},
                                         {"BypassBusinessLogicExecution",
                                          Value("CustomSync,CustomAsync")}}})
                .ok());
    CHECK(ran == std::vector<std::string>{"pinned"});
    CHECK(jobs() == 0);
  }
  SUBCASE("step ids") {
    auto ids = rig.pipeline.registration()->find_step("by id")->id.str() + "," +
               rig.pipeline.registration()->find_step("pinned")->id.str();
    REQUIRE(rig.pipeline
                .execute({.message = "Create",
                          .parameters = {{"Target", Value(account("B"))},
                                         {"BypassBusinessLogicExecutionStepIds", Value(ids)}}})
                .ok());
    CHECK(ran == std::vector<std::string>{"sync", "pinned"});
  }
  SUBCASE("an unknown bypass value is refused") {
    auto r = rig.pipeline.execute(
        {.message = "Create",
         .parameters = {{"Target", Value(account("B"))},
                        {"BypassBusinessLogicExecution", Value("Everything")}}});
    CHECK(r.outcome == host::pipeline::Outcome::failed);
    CHECK(r.error_message.find("Everything") != std::string::npos);
    CHECK(ran.empty());
  }
}

TEST_CASE("an asynchronous step becomes a system job committed with the record change") {
  auto notify = make_step("notify", "Update", "account", Stage::post_operation, "");
  notify.mode = Mode::asynchronous;
  notify.endpoint = "orders-queue";
  notify.run_as = fixed_guid(55);
  notify.images = {{"after", registration::ImageKind::post, {"name"}, {}}};
  auto gate = make_step("gate", "Update", "account", Stage::post_operation, "gate", 5);
  Rig rig({notify, gate});
  bool reject = false;
  rig.factory.add("gate", [&](ExecutionContext&, Services&) {
    if (reject) throw InvalidPluginExecution("closed");
  });
  auto id = rig.create(account("A")).output_parameters.at("id").as<Guid>();
  Entity change("account", id);
  change.set("name", Value("B"));
  auto response = rig.update(change);
  REQUIRE(response.ok());

  auto jobs = rig.store.system_jobs();
  REQUIRE(jobs.size() == 1);
  const auto& job = jobs[0];
  CHECK(job.step_name == "notify");
  CHECK(job.step_id == notify.id);
  CHECK(job.regarding_entity == "account");
  CHECK(job.regarding_id == id);
  CHECK(job.message == "Update");
  CHECK(job.depth == 1);
  CHECK(job.correlation_id == response.correlation_id);
  CHECK(job.state_code == 0);
  CHECK(job.status_code == 0);
  CHECK(job.retry_count == 0);
  CHECK_FALSE(job.postpone_until);
  CHECK(job.endpoint == std::optional<std::string>("orders-queue"));
  auto frozen = format::json::read_context(job.context);
  CHECK(frozen.mode == Mode::asynchronous);
  CHECK_FALSE(frozen.is_in_transaction);
  CHECK(frozen.operation_id == job.id);
  CHECK((job.id.bytes()[6] >> 4) == 7);  // a time-ordered id (host::store::time_ordered_guid)
  CHECK(frozen.operation_created_on == job.created_on);
  CHECK(frozen.stage == Stage::post_operation);
  CHECK(frozen.user_id == fixed_guid(55));
  CHECK(frozen.correlation_id == response.correlation_id);
  CHECK(frozen.owning_extension.name == "notify");
  REQUIRE(frozen.post_entity_images.count("after") == 1);
  CHECK(frozen.post_entity_images.at("after").attributes.size() == 1);
  CHECK(frozen.post_entity_images.at("after").get("name") == Value("B"));

  reject = true;
  change.set("name", Value("C"));
  CHECK(rig.update(change).outcome == host::pipeline::Outcome::rejected);
  CHECK(rig.store.system_jobs().size() == 1);
  CHECK(rig.read("account", id)->get_as<std::string>("name") == "B");
}

TEST_CASE("every asynchronous step of an operation gets the whole context, the last one too") {
  std::vector<registration::Step> steps;
  for (const char* message : {"Create", "Update"}) {
    for (int rank : {1, 2}) {
      auto s = make_step(std::string(message) + " " + std::to_string(rank), message, "account",
                         Stage::post_operation, "", rank);
      s.mode = Mode::asynchronous;
      s.endpoint = "orders-queue";
      steps.push_back(s);
    }
  }
  // Ranked last on Update, and skipped: the change names none of its filtering attributes.
  auto filtered = make_step("filtered", "Update", "account", Stage::post_operation, "", 3);
  filtered.mode = Mode::asynchronous;
  filtered.endpoint = "orders-queue";
  filtered.filtering_attributes = {"telephone1"};
  steps.push_back(filtered);
  Rig rig(steps);

  auto created = rig.create(account("A"));
  REQUIRE(created.ok());
  const auto id = created.output_parameters.at("id").as<Guid>();
  Entity change("account", id);
  change.set("name", Value("B"));
  REQUIRE(rig.update(change).ok());

  auto jobs = rig.store.system_jobs();
  REQUIRE(jobs.size() == 4);
  std::vector<std::string> names;
  for (const auto& job : jobs) {
    names.push_back(job.step_name);
    auto frozen = format::json::read_context(job.context);
    CHECK(frozen.message_name == job.message);
    CHECK(frozen.owning_extension.name == job.step_name);
    CHECK(frozen.operation_id == job.id);
    CHECK(frozen.primary_entity_id == id);
    REQUIRE(frozen.target());
    CHECK(frozen.target()->get_as<std::string>("name") == (job.message == "Create" ? "A" : "B"));
    if (job.message == "Create") CHECK(frozen.output_parameters.at("id").as<Guid>() == id);
  }
  CHECK(names == std::vector<std::string>{"Create 1", "Create 2", "Update 1", "Update 2"});
}

TEST_CASE(
    "a synchronous endpoint step without a notification service fails with a message saying so") {
  auto post = make_step("post now", "Create", "account", Stage::post_operation, "");
  post.endpoint = "orders-queue";
  Rig rig({post});
  auto r = rig.create(account("A"));
  CHECK(r.outcome == host::pipeline::Outcome::failed);
  CHECK(r.error_message.find("orders-queue") != std::string::npos);
}

TEST_CASE(
    "a synchronous endpoint step and a plug-in's notification() post through the host's service") {
  struct Recorder : NotificationService {
    std::string post(std::string_view endpoint, const ExecutionContext& c) override {
      posts.emplace_back(std::string(endpoint), c.owning_extension.name);
      if (endpoint == "refusing") throw InvalidPluginExecution("the endpoint refused the message");
      return "reply";
    }
    std::vector<std::pair<std::string, std::string>> posts;
  } recorder;
  auto post = make_step("post now", "Create", "account", Stage::post_operation, "", 1);
  post.endpoint = "orders-queue";
  auto aware = make_step("azure aware", "Create", "account", Stage::post_operation, "aware", 2);
  TestFactory factory;
  std::string reply;
  factory.add("aware", [&](ExecutionContext& c, Services& s) {
    reply = s.notification().post("two-way", c);
  });
  TempFolder data;
  host::store::SqliteRecordStore store(data.path() / "stepline.db");
  host::pipeline::Pipeline pipeline(make_registration({post, aware}), factory, store, &recorder);
  auto r = pipeline.execute({.message = "Create", .parameters = {{"Target", Value(account("A"))}}});
  REQUIRE(r.ok());
  CHECK(recorder.posts == std::vector<std::pair<std::string, std::string>>{
                              {"orders-queue", "post now"}, {"two-way", "azure aware"}});
  CHECK(reply == "reply");

  auto refusing = make_step("refused", "Update", "account", Stage::post_operation, "");
  refusing.endpoint = "refusing";
  pipeline.load(make_registration({refusing}));
  Entity change("account", r.output_parameters.at("id").as<Guid>());
  change.set("name", Value("B"));
  auto refused = pipeline.execute({.message = "Update", .parameters = {{"Target", Value(change)}}});
  CHECK(refused.outcome == host::pipeline::Outcome::rejected);
  CHECK(refused.error_message == "the endpoint refused the message");
  CHECK(store.retrieve("account", change.id, ColumnSet::all())->get("name") == Value("A"));
}

TEST_CASE("a plug-in runs a custom message through execute() and gets its steps' outputs") {
  Rig rig({make_step("ask", "Create", "account", Stage::pre_operation, "ask"),
           make_step("score", "sample_Score", "", Stage::main_operation, "score")});
  rig.factory.add("score", [](ExecutionContext& c, Services&) {
    auto name = c.input_parameters.at("Name").as<std::string>();
    c.output_parameters.insert_or_assign("Score", Value(static_cast<std::int32_t>(name.size())));
    c.output_parameters.insert_or_assign("Depth", Value(c.depth));
  });
  rig.factory.add("ask", [](ExecutionContext& c, Services& s) {
    auto name = c.target()->get_as<std::string>("name").value_or("");
    auto response = s.organization().execute({"sample_Score", {{"Name", Value(name)}}});
    c.target()->set("score", response.results.at("Score"));
    c.target()->set("scored_at_depth", response.results.at("Depth"));
  });
  auto id = rig.create(account("Contoso")).output_parameters.at("id").as<Guid>();
  auto stored = rig.read("account", id);
  CHECK(stored->get("score") == Value(7));
  CHECK(stored->get("scored_at_depth") == Value(2));
}
