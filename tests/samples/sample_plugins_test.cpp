// The logic of the sample plug-ins and listeners: enrichment, credit decisions, and reading a
// posted context in any format by its content type.
#include <doctest/doctest.h>

#include <stdexcept>

#include <proton/binary.hpp>
#include <proton/message.hpp>

#include <stepline/format/binary.hpp>

#include "credit_decision.hpp"
#include "enrichment.hpp"
#include "listener.hpp"

using namespace stepline;

namespace {

ExecutionContext account_update(const char* new_revenue, const char* old_revenue) {
  ExecutionContext c;
  c.message_name = "Update";
  c.primary_entity_name = "account";
  c.primary_entity_id = Guid::random();
  c.stage = Stage::post_operation;
  c.mode = Mode::asynchronous;
  Entity target("account", c.primary_entity_id);
  if (new_revenue) target.set("revenue", Money{Decimal(new_revenue)});
  target.set("telephone1", "+47 22 00 00 00");
  c.input_parameters.emplace("Target", Value(std::move(target)));
  if (old_revenue) {
    Entity pre("account", c.primary_entity_id);
    pre.set("name", "Fabrikam");
    pre.set("revenue", Money{Decimal(old_revenue)});
    c.pre_entity_images.emplace("pre", std::move(pre));
  }
  return c;
}

double money_of(const ExecutionContext& c, const char* name) {
  return c.shared_variables.at(name).as<Money>().value.to_double();
}

}  // namespace

TEST_CASE("an update that raises revenue is enriched with the change against the pre-image") {
  auto c = account_update("1500000.00", "250000.00");
  samples::enrich(c, "Samples.PublishAccountChange 1.0.0");
  CHECK(c.shared_variables.at(samples::enriched_by_variable).as<std::string>() ==
        "Samples.PublishAccountChange 1.0.0");
  CHECK(money_of(c, samples::revenue_change_variable) == doctest::Approx(1250000.0));
}

TEST_CASE("a lowered revenue gives a negative change; no pre-image counts the old revenue as 0") {
  auto lowered = account_update("100.00", "250.50");
  samples::enrich(lowered, "x");
  CHECK(money_of(lowered, samples::revenue_change_variable) == doctest::Approx(-150.5));
  auto first = account_update("75.25", nullptr);
  samples::enrich(first, "x");
  CHECK(money_of(first, samples::revenue_change_variable) == doctest::Approx(75.25));
}

TEST_CASE("an update that leaves revenue alone only names the publisher") {
  auto c = account_update(nullptr, "250000.00");
  samples::enrich(c, "Samples.PublishAccountChange 1.0.0");
  CHECK(c.shared_variables.count(samples::enriched_by_variable) == 1);
  CHECK(c.shared_variables.count(samples::revenue_change_variable) == 0);
  CHECK_FALSE(samples::revenue_change(c).has_value());
}

TEST_CASE("the enrichment reaches a Dataverse listener through dataverse-json") {
  auto c = account_update("1500000.00", "250000.00");
  samples::enrich(c, "Samples.PublishAccountChange 1.0.0");
  auto back = format::parse(format::serialize(c, "dataverse-json"), "dataverse-json");
  CHECK(back.shared_variables.at(samples::enriched_by_variable) ==
        c.shared_variables.at(samples::enriched_by_variable));
  CHECK(money_of(back, samples::revenue_change_variable) == doctest::Approx(1250000.0));
}

TEST_CASE("credit replies: approved, declined with or without a reason, anything else refused") {
  CHECK(samples::parse_credit_decision("approved").approved);
  CHECK(samples::parse_credit_decision("  approved\n").approved);
  auto declined = samples::parse_credit_decision("declined: over the limit");
  CHECK_FALSE(declined.approved);
  CHECK(declined.reason == "over the limit");
  CHECK(samples::parse_credit_decision("declined").reason == "no reason given");
  CHECK(samples::parse_credit_decision("declined:  ").reason == "no reason given");
  CHECK_THROWS_WITH_AS(samples::parse_credit_decision("maybe"),
                       doctest::Contains("replied 'maybe'"), std::invalid_argument);
  CHECK_THROWS_AS(samples::parse_credit_decision(""), std::invalid_argument);
  CHECK_THROWS_AS(samples::parse_credit_decision("declinedX"), std::invalid_argument);
}

TEST_CASE("the responder approves up to the limit and its refusal reads back with the reason") {
  CHECK(samples::decide_credit(2500, 10000) == "approved");
  CHECK(samples::decide_credit(10000, 10000) == "approved");
  auto refusal = samples::decide_credit(25000, 10000);
  auto decision = samples::parse_credit_decision(refusal);
  CHECK_FALSE(decision.approved);
  CHECK(decision.reason == "the amount 25000.00 is over the credit limit of 10000.00");
}

TEST_CASE("a listener reads a context in every format by its content type") {
  auto c = account_update("1500000.00", "250000.00");
  for (std::string_view name : format::format_names()) {
    CAPTURE(name);
    const format::Format& f = format::format_named(name);
    proton::message m;
    m.content_type(std::string(f.content_type));
    format::write_body(m, c, f);
    auto back = samples::read_context(m);
    CHECK(back.message_name == "Update");
    CHECK(back.primary_entity_id == c.primary_entity_id);
    CHECK(back.pre_entity_images.at("pre").get_as<std::string>("name") == "Fabrikam");
  }
}

TEST_CASE("a listener's summary line names the operation, the images and the shared variables") {
  auto c = account_update("1500000.00", "250000.00");
  samples::enrich(c, "Samples.PublishAccountChange 1.0.0");
  auto line = samples::summary(c);
  CHECK(line.starts_with("Update account " + c.primary_entity_id.str() + " stage 40 async"));
  CHECK(line.find("pre: name=Fabrikam revenue=250000.00") != std::string::npos);
  CHECK(line.find("stepline.enriched_by=Samples.PublishAccountChange 1.0.0") != std::string::npos);
}
