// Name-based ids, the registration's own small syntax.
#include <doctest/doctest.h>

#include <stepline/registration/values.hpp>

namespace stepline::registration {

TEST_CASE("name-based ids depend only on the name") {
  CHECK(name_based_id("a") == name_based_id("a"));
  CHECK(name_based_id("a") != name_based_id("b"));
  CHECK(step_id_from_name("a") != name_based_id("a"));
  CHECK(step_id_from_name("tier").str()[19] >= '8');  // RFC 9562 variant bits 10xx
}

}  // namespace stepline::registration
