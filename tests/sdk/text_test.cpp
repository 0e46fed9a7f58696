// The SDK's small text functions, which the formats, the registration, the host, the Azure helpers
// and the broker share.
#include <doctest/doctest.h>

#include <stepline/text.hpp>

namespace stepline::text {

TEST_CASE("lower-casing and comparing without case touch ASCII letters only") {
  CHECK(lower("Account-Events/Partitions/0") == "account-events/partitions/0");
  CHECK(lower("ÄB") == "Äb");  // UTF-8 passes through
  CHECK(iequals("EntityPath", "entitypath"));
  CHECK_FALSE(iequals("EntityPath", "EntityPat"));
  CHECK_FALSE(iequals("a", "b"));
}

TEST_CASE("trimming drops white space at both ends only") {
  CHECK(trim("  approved\r\n") == "approved");
  CHECK(trim("\tdeclined: over the limit ") == "declined: over the limit");
  CHECK(trim(" \t\r\n") == "");
  CHECK(trim("a b") == "a b");
}

TEST_CASE("percent-encoding keeps letters, digits and the unreserved characters given") {
  CHECK(percent_encode("Contoso Ltd/ü~") == "Contoso%20Ltd%2F%C3%BC~");
  CHECK(percent_encode("sb://ns/q(1)*", "-_.!~*'()") == "sb%3A%2F%2Fns%2Fq(1)*");
  CHECK(percent_encode("") == "");
}

}  // namespace stepline::text
