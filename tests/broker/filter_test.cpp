// Subscription filters: the SQL subset and correlation filters.
#include <doctest/doctest.h>

#include <proton/message_id.hpp>

#include "filter.hpp"

using namespace stepline::broker;

namespace {

const std::string claim = "http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName";

proton::message account_update() {
  proton::message m;
  m.properties().put(claim, "account");
  m.properties().put("http://schemas.microsoft.com/xrm/2011/Claims/RequestName", "Update");
  m.properties().put("Revenue", int64_t(5000));
  m.properties().put("priority", 2);
  m.subject("audit");
  m.correlation_id(std::string("corr-1"));
  return m;
}

bool matches(const std::string& sql, const proton::message& m = account_update()) {
  return SqlFilter(sql).matches(FilterInput(m));
}

}  // namespace

TEST_CASE("a filter on the quoted EntityLogicalName claim matches only that table") {
  CHECK(matches("\"" + claim + "\" = 'account'"));
  CHECK_FALSE(matches("\"" + claim + "\" = 'contact'"));
  CHECK(matches("[" + claim + "] <> 'contact'"));
}

TEST_CASE("comparisons, AND, OR, NOT and parentheses follow SQL") {
  CHECK(matches("revenue > 1000 AND priority < 3"));
  CHECK_FALSE(matches("revenue > 1000 AND priority > 3"));
  CHECK(matches("revenue >= 5000 OR missing = 1"));
  CHECK(matches("NOT (priority = 1)"));
  CHECK(matches("user.Revenue = 5000.0"));
  CHECK(matches("sys.Label = 'audit' AND sys.CorrelationId = 'corr-1'"));
}

TEST_CASE("a missing property is unknown: it matches neither IN nor NOT IN, and IS NULL finds it") {
  CHECK_FALSE(matches("missing IN ('a', 'b')"));
  CHECK_FALSE(matches("missing NOT IN ('a', 'b')"));
  CHECK_FALSE(matches("NOT (missing = 'a')"));
  CHECK(matches("missing IS NULL"));
  CHECK(matches("priority IS NOT NULL"));
  CHECK_FALSE(matches("EXISTS(missing)"));
  CHECK(matches("EXISTS(Priority)"));
}

TEST_CASE("IN and LIKE match values and patterns") {
  CHECK(matches(
      "\"http://schemas.microsoft.com/xrm/2011/Claims/RequestName\" IN ('Create', 'Update')"));
  CHECK(matches("\"" + claim + "\" LIKE 'acc%'"));
  CHECK(matches("\"" + claim + "\" LIKE '_ccount'"));
  CHECK_FALSE(matches("\"" + claim + "\" NOT LIKE '%count'"));
  CHECK(matches("sys.Label LIKE 'a!_%' ESCAPE '!'") == false);
}

TEST_CASE("a malformed filter is refused with the position of the mistake") {
  try {
    SqlFilter("a = = 1");
    FAIL("accepted");
  } catch (const FilterSyntaxError& e) {
    CHECK(e.offset == 4);
  }
  CHECK_THROWS_AS(SqlFilter("a IN ("), FilterSyntaxError);
  CHECK_THROWS_AS(SqlFilter("'unterminated"), FilterSyntaxError);
}

TEST_CASE("a filter longer than Service Bus allows is refused, however it nests") {
  // 1,024 characters nest at most a few hundred levels: the parser's recursion and the tree
  // evaluation walks stay small. Beyond that length nothing is parsed.
  std::string deep = std::string(512, '(') + "a = 1" + std::string(512, ')');
  CHECK_THROWS_WITH_AS(SqlFilter{deep}, doctest::Contains("at most 1024"), FilterSyntaxError);
  std::string nots;
  while (nots.size() < 1000) nots += "NOT ";
  CHECK(matches(nots + "priority = 1") == false);  // 250 NOTs: even, so priority = 1, false
  std::string chain = "priority = 2";
  while (chain.size() < 1000) chain += " AND priority = 2";
  CHECK(matches(chain));
  CHECK_THROWS_AS(SqlFilter(chain + " AND priority = 2 AND priority = 2"), FilterSyntaxError);
}

TEST_CASE("a correlation filter matches system and application properties exactly") {
  SubscriptionConfig c;
  c.correlation = CorrelationFilter{{{"label", "audit"}}, {{claim, "account"}}};
  auto f = SubscriptionFilter::from_config(c);
  CHECK(f.matches(FilterInput(account_update())));
  c.correlation->properties[claim] = "contact";
  CHECK_FALSE(SubscriptionFilter::from_config(c).matches(FilterInput(account_update())));
  CHECK(SubscriptionFilter::from_config(SubscriptionConfig{})
            .matches(FilterInput(proton::message())));
}
