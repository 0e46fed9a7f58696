// Durations, name-based ids and connection strings, the small syntaxes inside registrations.
#include <doctest/doctest.h>

#include <stepline/registration/values.hpp>

namespace stepline::registration {

using namespace std::chrono_literals;

TEST_CASE("durations are numbers with ms, s, m or h, and may be summed") {
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("30s") == 30s);
  CHECK(parse_duration("10m") == 10min);
  CHECK(parse_duration("1h") == 1h);
  CHECK(parse_duration("1h30m") == 90min);
  CHECK(parse_duration(" 2s ") == 2s);
  CHECK(parse_duration("0ms") == 0ms);
  for (auto bad : {"", "30", "s", "1.5s", "-1s", "10 minutes", "1d", "5sec", "1h30"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("formatted durations read back to the same value") {
  CHECK(format_duration(0ms) == "0ms");
  CHECK(format_duration(1500ms) == "1s500ms");
  CHECK(format_duration(90min) == "1h30m");
  CHECK(format_duration(15min) == "15m");
  for (std::chrono::milliseconds d : {1ms, 999ms, 61000ms, 3601000ms, 90000000ms})
    CHECK(parse_duration(format_duration(d)) == d);
}

TEST_CASE("name-based ids depend only on the name") {
  CHECK(name_based_id("a") == name_based_id("a"));
  CHECK(name_based_id("a") != name_based_id("b"));
  CHECK(step_id_from_name("a") != name_based_id("a"));
  CHECK(step_id_from_name("tier").str()[19] >= '8');  // RFC 9562 variant bits 10xx
}

TEST_CASE("connection strings split like the Azure SDKs split them") {
  auto parts = split_connection_string(
      " Endpoint = sb://ns.servicebus.windows.net/ ;SharedAccessKeyName=send;;"
      "SharedAccessKey=a2V5PT0=;\n EntityPath=orders ");
  REQUIRE(parts);
  REQUIRE(parts->size() == 4);
  CHECK((*parts)[0].key == "Endpoint");
  CHECK((*parts)[0].value == "sb://ns.servicebus.windows.net/");
  CHECK((*parts)[2].value == "a2V5PT0=");  // split at the first '=' only
  CHECK((*parts)[3].value == "orders");
  CHECK_FALSE(split_connection_string("Endpoint=sb://x/;novalue"));
  CHECK_FALSE(split_connection_string("=value"));
}

TEST_CASE("a good connection string has no problems") {
  CHECK(
      check_connection_string(
          "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=a2V5")
          .empty());
  CHECK(check_connection_string("Endpoint=sb://localhost:5672;SharedAccessKeyName=k;"
                                "SharedAccessKey=a2V5;UseDevelopmentEmulator=true")
            .empty());
  CHECK(check_connection_string("Endpoint=sb://ns/;SharedAccessSignature=SharedAccessSignature "
                                "sr=a&sig=b&se=1&skn=k")
            .empty());
  CHECK(check_connection_string("Endpoint=localhost:6765").empty());
}

TEST_CASE("connection string problems name keys, never values") {
  auto problems = check_connection_string(
      "Endpoint=sb://ns/;Endpoint=sb://other/;SharedAccessKeyName=k;SharedAccessKey=S3CRET;"
      "UseDevelopmentEmulator=yes;SharedAccessSignature=S3CRET");
  for (const auto& p : problems) CHECK(p.find("S3CRET") == std::string::npos);
  CHECK(problems == std::vector<std::string>{
                        "the connection string names Endpoint twice; keep one",
                        "the connection string has both SharedAccessSignature and "
                        "SharedAccessKey/SharedAccessKeyName; keep one way of authenticating",
                        "the connection string's UseDevelopmentEmulator must be true or false",
                        "the connection string's SharedAccessSignature must start with "
                        "'SharedAccessSignature sr='; paste the whole token"});
}

TEST_CASE("masking hides keys and signatures and keeps the rest readable") {
  CHECK(mask_connection_string("Endpoint=sb://ns/;SharedAccessKeyName=send;SharedAccessKey=S3CRET;"
                               "EntityPath=q") ==
        "Endpoint=sb://ns/;SharedAccessKeyName=send;SharedAccessKey=***;EntityPath=q;");
  CHECK(mask_connection_string("Endpoint=sb://ns/;SharedAccessSignature=S3CRET") ==
        "Endpoint=sb://ns/;SharedAccessSignature=***;");
  CHECK(mask_connection_string("Endpoint=sb://ns/;sharedaccesskey=S3CRET") ==
        "Endpoint=sb://ns/;sharedaccesskey=***;");
  CHECK(mask_connection_string("Endpoint=sb://ns/;S3CRET") == "***");
}

}  // namespace stepline::registration
