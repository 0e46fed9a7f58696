// The sample account_rules.so, loaded through the catalog as the host loads it.
#include <doctest/doctest.h>

#include <stepline/host/catalog/plugin_catalog.hpp>

#include "catalog_fixture.hpp"

using namespace stepline;
using namespace stepline::testing;

namespace {

const host::catalog::PluginCatalog& account_rules() {
  static const host::catalog::PluginCatalog catalog([] {
    host::catalog::CatalogSettings s;
    s.plugins.push_back({fs::path(STEPLINE_BINARY_DIR) / "plugins" / "account_rules.so", {}, {}});
    s.scanner = stepline_executable();
    return s;
  }());
  return catalog;
}

ExecutionContext account_operation(const std::string& message, Entity target) {
  ExecutionContext context;
  context.message_name = message;
  context.primary_entity_name = "account";
  context.primary_entity_id = target.id = Guid::random();
  context.input_parameters["Target"] = std::move(target);
  return context;
}

Entity account(std::optional<std::string> name, std::optional<std::string> revenue) {
  Entity e("account");
  if (name) e.set("name", *name);
  if (revenue) e.set("revenue", Money{Decimal(*revenue)});
  return e;
}

// Runs one type on the context; returns the tier it set, or "" when it set none.
std::string tier_after(ExecutionContext context) {
  TestServices services;
  account_rules().create("Samples.SetAccountTier", "", "")->execute(context, services);
  const auto tier = context.target()->get_as<std::string>("tier");
  return tier.value_or("");
}

void validate(ExecutionContext context) {
  TestServices services;
  account_rules().create("Samples.ValidateAccount", "", "")->execute(context, services);
}

}  // namespace

TEST_CASE("account_rules.so provides the two types the sample registration names") {
  CHECK(account_rules().libraries().at(0).status == host::catalog::LibraryStatus::loaded);
  CHECK(account_rules().has_type("Samples.ValidateAccount"));
  CHECK(account_rules().has_type("Samples.SetAccountTier"));
}

TEST_CASE("an account created without a name is stopped with a message for the caller") {
  CHECK_THROWS_WITH_AS(validate(account_operation("Create", account(std::nullopt, "10.00"))),
                       "An account needs a name.", InvalidPluginExecution);
  CHECK_THROWS_WITH_AS(validate(account_operation("Create", account("  ", std::nullopt))),
                       "An account needs a name.", InvalidPluginExecution);
  // An update that does not touch the name is fine.
  CHECK_NOTHROW(validate(account_operation("Update", account(std::nullopt, "10.00"))));
}

TEST_CASE("a negative revenue is refused, quoting the amount") {
  CHECK_THROWS_WITH_AS(validate(account_operation("Create", account("Contoso", "-5.00"))),
                       "Revenue cannot be negative (was -5.00).", InvalidPluginExecution);
  CHECK_THROWS_WITH_AS(validate(account_operation("Update", account(std::nullopt, "-1250.5"))),
                       "Revenue cannot be negative (was -1250.50).", InvalidPluginExecution);
  CHECK_NOTHROW(validate(account_operation("Create", account("Contoso", "0"))));
}

TEST_CASE("the tier follows the revenue: gold from a million, silver from 100,000, else bronze") {
  CHECK(tier_after(account_operation("Create", account("A", "1000000.00"))) == "gold");
  CHECK(tier_after(account_operation("Create", account("A", "999999.99"))) == "silver");
  CHECK(tier_after(account_operation("Create", account("A", "100000"))) == "silver");
  CHECK(tier_after(account_operation("Create", account("A", "99999.99"))) == "bronze");
  CHECK(tier_after(account_operation("Create", account("A", std::nullopt))) == "bronze");
  CHECK(tier_after(account_operation("Update", account(std::nullopt, "2500000"))) == "gold");
}

TEST_CASE("an update that leaves revenue alone leaves the tier alone") {
  CHECK(tier_after(account_operation("Update", account("Renamed", std::nullopt))).empty());
}
