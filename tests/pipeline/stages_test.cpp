// Stage order, rank, filtering attributes, disabled steps, images, failures and context fields.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include <stepline/host/pipeline/step_index.hpp>

#include "fixture.hpp"

using namespace stepline;
using namespace stepline::test;

namespace {

Body record_into(std::vector<std::string>& log, std::string label) {
  return [&log, label](ExecutionContext&, Services&) { log.push_back(label); };
}

}  // namespace

TEST_CASE("steps run by stage, then by rank, pre-validation first and post-operation last") {
  std::vector<std::string> order;
  Rig rig({make_step("post rank 2", "Create", "account", Stage::post_operation, "post2", 2),
           make_step("pre-op", "Create", "account", Stage::pre_operation, "pre"),
           make_step("post rank 1", "Create", "account", Stage::post_operation, "post1", 1),
           make_step("any table", "Create", "", Stage::pre_validation, "validate", 5),
           make_step("other table", "Create", "contact", Stage::pre_validation, "contact")});
  rig.factory.add("post2", record_into(order, "40/2"));
  rig.factory.add("post1", record_into(order, "40/1"));
  rig.factory.add("pre", record_into(order, "20"));
  rig.factory.add("validate", record_into(order, "10"));
  rig.factory.add("contact", record_into(order, "contact"));

  auto response = rig.create(account("Contoso"));
  REQUIRE(response.ok());
  CHECK(order == std::vector<std::string>{"10", "20", "40/1", "40/2"});
}

TEST_CASE("a Create without an id has its record id from pre-validation on, also when rejected") {
  std::vector<std::pair<Guid, Guid>> seen;  // the context's record id, the target's id
  Rig rig({make_step("validate", "Create", "account", Stage::pre_validation, "note"),
           make_step("check", "Create", "account", Stage::pre_operation, "note-and-reject"),
           make_step("after", "Create", "account", Stage::post_operation, "note")});
  auto note = [&](ExecutionContext& c, Services& services) {
    seen.emplace_back(c.primary_entity_id, c.target()->id);
    services.tracing().trace("{} of {} {}", c.message_name, c.primary_entity_name,
                             c.primary_entity_id.str());
  };
  bool reject = false;
  rig.factory.add("note", note);
  rig.factory.add("note-and-reject", [&](ExecutionContext& c, Services& services) {
    note(c, services);
    if (reject) throw InvalidPluginExecution("No more accounts today.");
  });

  auto created = rig.create(account("Contoso"));
  REQUIRE(created.ok());
  const Guid id = created.output_parameters.at("id").as<Guid>();
  CHECK_FALSE(id.is_nil());
  REQUIRE(seen.size() == 3);
  for (const auto& [record, target] : seen) {
    CHECK(record == id);
    CHECK(target == id);
  }
  CHECK(rig.read("account", id).has_value());

  seen.clear();
  reject = true;
  auto rejected = rig.create(account("Fabrikam"));
  CHECK(rejected.outcome == host::pipeline::Outcome::rejected);
  REQUIRE(seen.size() == 2);
  const Guid assigned = seen[0].first;
  CHECK_FALSE(assigned.is_nil());
  CHECK(seen[1].first == assigned);
  REQUIRE(rejected.traces.size() == 2);
  CHECK(rejected.traces[1].find("Create of account " + assigned.str()) != std::string::npos);
  CHECK_FALSE(rig.read("account", assigned).has_value());
}

TEST_CASE("a step filtered on revenue does not fire when only name changes") {
  int fired = 0;
  auto filtered = make_step("on revenue", "Update", "account", Stage::post_operation, "count");
  filtered.filtering_attributes = {"revenue", "numberofemployees"};
  Rig rig({filtered});
  rig.factory.add("count", [&](ExecutionContext&, Services&) { ++fired; });
  auto id = rig.create(account("Contoso")).output_parameters.at("id").as<Guid>();

  Entity change("account", id);
  change.set("name", Value("Contoso Ltd"));
  REQUIRE(rig.update(change).ok());
  CHECK(fired == 0);

  change.set("revenue", Value(Money{Decimal("10.00")}));
  REQUIRE(rig.update(change).ok());
  CHECK(fired == 1);
}

TEST_CASE("a disabled step never runs and is not even instantiated") {
  auto disabled = make_step("off", "Create", "account", Stage::pre_operation, "boom");
  disabled.enabled = false;
  Rig rig({disabled});
  rig.factory.add(
      "boom", [](ExecutionContext&, Services&) { throw InvalidPluginExecution("must not run"); });
  CHECK(rig.create(account("A")).ok());
  CHECK(rig.factory.created == 0);
}

TEST_CASE("one plug-in instance serves every run of a step") {
  Rig rig({make_step("s", "Create", "account", Stage::pre_operation, "noop")});
  rig.factory.add("noop", [](ExecutionContext&, Services&) {});
  for (int i = 0; i < 3; ++i) REQUIRE(rig.create(account("A")).ok());
  CHECK(rig.factory.created == 1);
}

TEST_CASE("a pre-operation step's change to the target is what gets stored") {
  Rig rig({make_step("normalise", "Create", "account", Stage::pre_operation, "upper")});
  rig.factory.add(
      "upper", [](ExecutionContext& c, Services&) { c.target()->set("name", Value("CONTOSO")); });
  auto id = rig.create(account("contoso")).output_parameters.at("id").as<Guid>();
  CHECK(rig.read("account", id)->get_as<std::string>("name") == "CONTOSO");
}

TEST_CASE("output parameters are filled for post-operation and its changes reach the caller") {
  std::optional<Guid> seen;
  int outputs_before = -1;
  Rig rig({make_step("pre", "Create", "account", Stage::pre_operation, "pre"),
           make_step("post", "Create", "account", Stage::post_operation, "post")});
  rig.factory.add("pre", [&](ExecutionContext& c, Services&) {
    outputs_before = static_cast<int>(c.output_parameters.size());
  });
  rig.factory.add("post", [&](ExecutionContext& c, Services&) {
    seen = c.output_parameters.at("id").as<Guid>();
    c.output_parameters.insert_or_assign("tier", Value("gold"));
  });
  auto response = rig.create(account("A"));
  REQUIRE(response.ok());
  CHECK(outputs_before == 0);
  CHECK(seen == response.output_parameters.at("id").as<Guid>());
  CHECK(response.output_parameters.at("tier") == Value("gold"));
}

TEST_CASE("images hold only their columns, and Create has no pre-image") {
  auto update_step = make_step("audit", "Update", "account", Stage::post_operation, "audit");
  update_step.images = {{"before", registration::ImageKind::pre, {"name"}, {}},
                        {"after", registration::ImageKind::post, {"name", "city"}, {}}};
  auto create_step = make_step("on create", "Create", "account", Stage::post_operation, "create");
  create_step.images = {{"both", registration::ImageKind::both, {}, {}}};
  Rig rig({update_step, create_step});
  std::optional<ExecutionContext> on_update, on_create;
  rig.factory.add("audit", [&](ExecutionContext& c, Services&) { on_update = c; });
  rig.factory.add("create", [&](ExecutionContext& c, Services&) { on_create = c; });

  Entity a = account("Contoso");
  a.set("city", Value("Oslo"));
  a.set("revenue", Value(Money{Decimal("5.00")}));
  auto id = rig.create(a).output_parameters.at("id").as<Guid>();
  REQUIRE(on_create);
  CHECK(on_create->pre_entity_images.empty());
  REQUIRE(on_create->post_entity_images.count("both") == 1);
  CHECK(on_create->post_entity_images.at("both").get_as<std::string>("city") == "Oslo");

  Entity change("account", id);
  change.set("name", Value("Contoso 2"));
  change.set("city", Value("Bergen"));
  REQUIRE(rig.update(change).ok());
  REQUIRE(on_update);
  const Entity& before = on_update->pre_entity_images.at("before");
  CHECK(before.attributes.size() == 1);
  CHECK(before.get_as<std::string>("name") == "Contoso");
  const Entity& after = on_update->post_entity_images.at("after");
  CHECK(after.attributes.size() == 2);
  CHECK(after.get_as<std::string>("name") == "Contoso 2");
  CHECK(after.get_as<std::string>("city") == "Bergen");
  CHECK(after.id == id);
}

TEST_CASE("a plug-in's rejection rolls the whole operation back and reaches the caller unchanged") {
  Rig rig({make_step("stamp", "Update", "account", Stage::pre_operation, "stamp"),
           make_step("reject", "Update", "account", Stage::post_operation, "reject")});
  rig.factory.add("stamp",
                  [](ExecutionContext& c, Services&) { c.target()->set("stamped", Value(true)); });
  rig.factory.add("reject", [](ExecutionContext&, Services&) {
    throw InvalidPluginExecution("Revenue may not drop below zero.");
  });
  auto id = rig.create(account("Contoso")).output_parameters.at("id").as<Guid>();
  auto before = rig.read("account", id);

  Entity change("account", id);
  change.set("name", Value("Changed"));
  auto response = rig.update(change);
  CHECK(response.outcome == host::pipeline::Outcome::rejected);
  CHECK(response.error_message == "Revenue may not drop below zero.");
  CHECK(response.error_code == InvalidPluginExecution::default_error_code);
  CHECK(rig.read("account", id) == before);
}

TEST_CASE(
    "any other exception gives the caller a generic message and a trace id, not the details") {
  Rig rig({make_step("buggy", "Create", "account", Stage::post_operation, "buggy")});
  rig.factory.add("buggy", [](ExecutionContext&, Services&) {
    throw std::out_of_range("secret internal detail");
  });
  auto response = rig.create(account("A"));
  CHECK(response.outcome == host::pipeline::Outcome::failed);
  CHECK(response.error_code == host::pipeline::error_code::unexpected);
  REQUIRE(Guid::try_parse(response.trace_id));
  CHECK(response.error_message.find(response.trace_id) != std::string::npos);
  CHECK(response.error_message.find("buggy") != std::string::npos);
  CHECK(response.error_message.find("secret internal detail") == std::string::npos);
  CHECK(rig.store.retrieve_multiple({.entity_name = "account"}).entities.empty());
}

TEST_CASE("an unknown plug-in type fails the operation naming the step and the type") {
  Rig rig({make_step("ghost", "Create", "account", Stage::pre_operation, "Nope.Missing")});
  auto response = rig.create(account("A"));
  CHECK(response.outcome == host::pipeline::Outcome::failed);
  CHECK(response.error_message.find("'ghost'") != std::string::npos);
  CHECK(response.error_message.find("Nope.Missing") != std::string::npos);
}

TEST_CASE("the context carries ids, users, organization, owning extension and transaction state") {
  auto validate = make_step("validate", "Update", "account", Stage::pre_validation, "capture");
  auto post = make_step("post", "Update", "account", Stage::post_operation, "capture");
  post.run_as = fixed_guid(77);
  Rig rig({validate, post});
  std::vector<ExecutionContext> seen;
  rig.factory.add("capture", [&](ExecutionContext& c, Services&) { seen.push_back(c); });
  auto id = rig.create(account("A")).output_parameters.at("id").as<Guid>();

  Entity change("account", id);
  change.set("name", Value("B"));
  host::pipeline::OperationRequest request{.message = "Update",
                                           .parameters = {{"Target", Value(change)}}};
  request.user_id = fixed_guid(42);
  request.request_id = fixed_guid(99);
  request.user_agent = "tests/1.0";
  auto response = rig.pipeline.execute(request);
  REQUIRE(response.ok());
  REQUIRE(seen.size() == 2);
  const auto& v = seen[0];
  const auto& p = seen[1];
  CHECK(v.stage == Stage::pre_validation);
  CHECK_FALSE(v.is_in_transaction);
  CHECK(p.stage == Stage::post_operation);
  CHECK(p.is_in_transaction);
  for (const auto* c : {&v, &p}) {
    CHECK(c->message_name == "Update");
    CHECK(c->primary_entity_name == "account");
    CHECK(c->primary_entity_id == id);
    CHECK(c->depth == 1);
    CHECK(c->mode == Mode::synchronous);
    CHECK(c->initiating_user_id == fixed_guid(42));
    CHECK(c->organization_id == fixed_guid(1));
    CHECK(c->organization_name == "contoso");
    CHECK(c->business_unit_id == fixed_guid(2));
    CHECK(c->request_id == fixed_guid(99));
    CHECK(c->operation_id == fixed_guid(99));
    CHECK(c->correlation_id == response.correlation_id);
    CHECK(c->initiating_user_agent == "tests/1.0");
    CHECK(c->operation_created_on.time_since_epoch().count() > 0);
    CHECK(c->owning_extension.logical_name == "sdkmessageprocessingstep");
  }
  CHECK(v.user_id == fixed_guid(42));
  CHECK(p.user_id == fixed_guid(77));
  CHECK(v.owning_extension.name == "validate");
  CHECK(p.owning_extension.id == rig.pipeline.registration()->find_step("post")->id);
  CHECK(p.owning_extension.name == "post");
}

TEST_CASE("pre-validation's shared variables reach later stages through the parent context") {
  Rig rig({make_step("v", "Create", "account", Stage::pre_validation, "v"),
           make_step("pre", "Create", "account", Stage::pre_operation, "pre"),
           make_step("post", "Create", "account", Stage::post_operation, "post")});
  std::optional<Value> via_parent, from_pre, tag_at_post;
  std::optional<Stage> parent_stage;
  rig.factory.add("v", [](ExecutionContext& c, Services&) {
    c.shared_variables.insert_or_assign("checked", Value(true));
  });
  rig.factory.add("pre", [&](ExecutionContext& c, Services&) {
    REQUIRE(c.parent_context);
    parent_stage = c.parent_context->stage;
    via_parent = c.parent_context->shared_variables.at("checked");
    CHECK(c.shared_variables.count("checked") == 0);
    c.shared_variables.insert_or_assign("from_pre", Value(7));
    c.shared_variables.insert_or_assign("tag", Value("overwritten"));
  });
  rig.factory.add("post", [&](ExecutionContext& c, Services&) {
    from_pre = c.shared_variables.at("from_pre");
    tag_at_post = c.shared_variables.at("tag");
  });
  host::pipeline::OperationRequest request{.message = "Create",
                                           .parameters = {{"Target", Value(account("A"))}}};
  request.tag = "batch-7";
  REQUIRE(rig.pipeline.execute(request).ok());
  CHECK(parent_stage == Stage::main_operation);
  CHECK(via_parent == Value(true));
  CHECK(from_pre == Value(7));
  CHECK(tag_at_post == Value("batch-7"));
}

TEST_CASE("a registered stage-30 step replaces the record store for its table") {
  Rig rig({make_step("virtual provider", "Create", "weather", Stage::main_operation, "provider")});
  std::vector<Entity> received;
  rig.factory.add("provider", [&](ExecutionContext& c, Services&) {
    received.push_back(*c.target());
    c.output_parameters.insert_or_assign("id", Value(fixed_guid(5)));
  });
  auto response = rig.pipeline.execute(
      {.message = "Create", .parameters = {{"Target", Value(Entity("weather"))}}});
  REQUIRE(response.ok());
  CHECK(received.size() == 1);
  CHECK(response.output_parameters.at("id") == Value(fixed_guid(5)));
  CHECK_FALSE(rig.read("weather", fixed_guid(5)));
  // Other tables still use the store.
  CHECK(rig.create(account("A")).ok());
  CHECK(rig.store.retrieve_multiple({.entity_name = "account"}).entities.size() == 1);
}

TEST_CASE("malformed operations fail with a message naming what is missing") {
  Rig rig(std::vector<registration::Step>{});
  auto no_target = rig.pipeline.execute({.message = "Update"});
  CHECK(no_target.outcome == host::pipeline::Outcome::failed);
  CHECK(no_target.error_message.find("Target") != std::string::npos);
  auto no_id = rig.update(account("A"));
  CHECK(no_id.error_message.find("id") != std::string::npos);
  auto missing = rig.remove("account", fixed_guid(9));
  CHECK(missing.outcome == host::pipeline::Outcome::failed);
  CHECK(missing.error_code == host::pipeline::error_code::not_found);
  CHECK(missing.error_message.find(fixed_guid(9).str()) != std::string::npos);
}

TEST_CASE("loading a new registration re-indexes the steps and creates fresh plug-in instances") {
  Rig rig({make_step("old", "Create", "account", Stage::pre_operation, "mark")});
  rig.factory.add("mark", [](ExecutionContext& c, Services&) {
    c.target()->set("marked_by", Value(c.owning_extension.name));
  });
  auto first = rig.create(account("A")).output_parameters.at("id").as<Guid>();
  rig.pipeline.load(
      make_registration({make_step("new", "Create", "account", Stage::pre_operation, "mark")}));
  auto second = rig.create(account("B")).output_parameters.at("id").as<Guid>();
  CHECK(rig.read("account", first)->get("marked_by") == Value("old"));
  CHECK(rig.read("account", second)->get("marked_by") == Value("new"));
  CHECK(rig.factory.created == 2);
  CHECK(rig.pipeline.registration()->find_step("old") == nullptr);
}

TEST_CASE("operations from several threads each commit whole") {
  auto post = make_step("count", "Create", "account", Stage::post_operation, "count");
  auto async_step = make_step("later", "Create", "account", Stage::post_operation, "count");
  async_step.mode = Mode::asynchronous;
  Rig rig({post, async_step});
  std::atomic<int> runs{0};
  rig.factory.add("count", [&](ExecutionContext& c, Services& s) {
    ++runs;
    Entity note("annotation");
    note.set("objectid", Value(EntityReference{"account", c.primary_entity_id, {}}));
    s.organization().create(note);
  });
  constexpr int threads = 4, per_thread = 25;
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        if (!rig.create(account("T" + std::to_string(t) + "-" + std::to_string(i))).ok())
          ++failures;
    });
  for (auto& w : workers) w.join();
  CHECK(failures == 0);
  CHECK(runs == threads * per_thread);
  CHECK(rig.store.retrieve_multiple({.entity_name = "account"}).entities.size() ==
        threads * per_thread);
  CHECK(rig.store.retrieve_multiple({.entity_name = "annotation"}).entities.size() ==
        threads * per_thread);
  CHECK(rig.store.system_jobs().size() == threads * per_thread);
}

TEST_CASE(
    "a step that can not run is refused when the registration is indexed, naming where it is") {
  auto async_pre = make_step("too early", "Create", "account", Stage::pre_operation, "x");
  async_pre.mode = Mode::asynchronous;
  CHECK_THROWS_WITH_AS(
      host::pipeline::StepIndex(make_registration({async_pre})),
      doctest::Contains("test.yaml:1:1: step 'too early' is asynchronous at stage 20"),
      std::invalid_argument);
  auto both = make_step("two handlers", "Create", "account", Stage::pre_operation, "x");
  both.endpoint = "queue";
  CHECK_THROWS_WITH_AS(host::pipeline::StepIndex(make_registration({both})),
                       doctest::Contains("exactly one handler"), std::invalid_argument);
}

TEST_CASE("the index merges any-table steps into each table's list and skips disabled ones") {
  auto off = make_step("off", "Update", "account", Stage::pre_operation, "x");
  off.enabled = false;
  auto r = make_registration(
      {make_step("any", "Update", "", Stage::post_operation, "x", 1),
       make_step("account", "Update", "account", Stage::post_operation, "x", 2), off,
       make_step("early", "Update", "account", Stage::pre_validation, "x", 9)});
  host::pipeline::StepIndex index(r);
  auto names = [&](std::string_view entity) {
    std::vector<std::string> out;
    for (const auto* e : index.find("Update", entity)) out.push_back(e->step->name);
    return out;
  };
  CHECK(names("account") == std::vector<std::string>{"early", "any", "account"});
  CHECK(names("contact") == std::vector<std::string>{"any"});
  CHECK(index.find("Create", "account").empty());
  CHECK(index.size() == 3);
}
