// SAS tokens and grants as the broker checks them.
#include <doctest/doctest.h>

#include <chrono>

#include <stepline/azure/sas_token.hpp>

#include "auth.hpp"

using namespace stepline::broker;

TEST_CASE("the published SAS token vector verifies, and a changed key does not") {
  // The published vector: key name RootManageSharedAccessKey, key SAS_KEY_VALUE, audience
  // sb://localhost/queue.1, se 1700000000.
  const std::string token =
      "SharedAccessSignature "
      "sr=sb%3A%2F%2Flocalhost%2Fqueue.1&sig=kVTHdaUjTWZZunyrEZsHF8WL7nEpir93aXQ1XkVu79k%3D"
      "&se=1700000000&skn=RootManageSharedAccessKey";
  Authority authority({SasPolicy{"RootManageSharedAccessKey", "SAS_KEY_VALUE", false, true, true}});
  const int64_t before_expiry = 1'699'999'000'000;
  auto granted = authority.verify_token(token, "sb://localhost/queue.1", before_expiry);
  REQUIRE(std::holds_alternative<Grant>(granted));
  CHECK(std::get<Grant>(granted).path == "queue.1");
  CHECK(std::get<Grant>(granted).rights.send);
  CHECK(std::get<Grant>(granted).expires_ms == 1'700'000'000'000);

  CHECK(std::holds_alternative<std::string>(
      authority.verify_token(token, "sb://localhost/queue.1", 1'700'000'001'000)));
  Authority other({SasPolicy{"RootManageSharedAccessKey", "another", true, true, true}});
  CHECK(std::holds_alternative<std::string>(
      other.verify_token(token, "sb://localhost/queue.1", before_expiry)));
  CHECK(std::holds_alternative<std::string>(
      authority.verify_token(token, "sb://localhost/queue.2", before_expiry)));
}

TEST_CASE("a grant covers its entity and the entities below it, with the rights it carries") {
  std::vector<Grant> grants{Grant{"account-events", Rights{true, false, false}, 0}};
  CHECK(allowed(grants, "account-events", Need::send, 0));
  CHECK(allowed(grants, "account-events/subscriptions/all", Need::send, 0));
  CHECK_FALSE(allowed(grants, "account-events2", Need::send, 0));
  CHECK_FALSE(allowed(grants, "account-events", Need::listen, 0));
  grants.push_back(Grant{"orders", Rights{false, true, false}, 1000});
  CHECK(allowed(grants, "orders", Need::listen, 999));
  CHECK_FALSE(allowed(grants, "orders", Need::listen, 1000));  // expired
  CHECK(audience_path("sb://localhost:5672/Orders/") == "orders");
  CHECK(audience_path("$cbs") == "$cbs");
}

TEST_CASE("PLAIN logins match a policy name and key exactly") {
  Authority authority({SasPolicy{"root", "secret", true, true, true}});
  CHECK(authority.login("root", "secret") != nullptr);
  CHECK(authority.login("root", "secreT") == nullptr);
  CHECK(authority.login("nobody", "secret") == nullptr);
}
