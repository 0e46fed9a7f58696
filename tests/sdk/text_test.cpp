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

TEST_CASE("trimming the start leaves the end alone") {
  CHECK(trim_start(" \t{\"x\": 1} ") == "{\"x\": 1} ");
  CHECK(trim_start("\r\n") == "");
  CHECK(trim_start("a ") == "a ");
}

TEST_CASE("percent-encoding keeps letters, digits and the unreserved characters given") {
  CHECK(percent_encode("Contoso Ltd/ü~") == "Contoso%20Ltd%2F%C3%BC~");
  CHECK(percent_encode("sb://ns/q(1)*", "-_.!~*'()") == "sb%3A%2F%2Fns%2Fq(1)*");
  CHECK(percent_encode("") == "");
  CHECK(percent_encode("claims/orders/a b", "-._~/") == "claims/orders/a%20b");
}

TEST_CASE("percent-decoding reverses percent-encoding, in either case of hex") {
  for (std::string_view text : {"Contoso Ltd/ü~", "sb://ns/q(1)*?a=b&c=%", "", "+ +"})
    CHECK(percent_decode(percent_encode(text)) == text);
  CHECK(percent_decode("%c3%BC%2f") == "ü/");
  CHECK(percent_decode("a+b%2B") == "a+b+");
  CHECK(percent_decode("a+b%2B", true) == "a b+");
}

TEST_CASE("a percent sign without two hex digits is kept as written, and found") {
  CHECK(percent_decode("100%") == "100%");
  CHECK(percent_decode("%zz%4") == "%zz%4");
  CHECK(percent_decode("%41%") == "A%");
  CHECK(bad_percent_escape("a%20b") == std::string_view::npos);
  CHECK(bad_percent_escape("a%20b%2") == 5);
  CHECK(bad_percent_escape("%g0") == 0);
  CHECK(bad_percent_escape("") == std::string_view::npos);
}

TEST_CASE("printable text shows control characters as JSON escapes and keeps the rest") {
  CHECK(printable("plain name") == "plain name");
  CHECK(printable(std::string("a") + '\0' + "b\n\x1f\x7f") == "a\\u0000b\\u000a\\u001f\\u007f");
  CHECK_FALSE(has_control("plain\u00e9 name"));
  CHECK(has_control(std::string("a") + '\0'));
  CHECK(has_control("tab\there"));
  CHECK(has_control("del\x7f"));
  // C1 controls (U+0080 to U+009F) count; the letters beside them in UTF-8 do not.
  CHECK(
      has_control("csi \xc2\x9b"
                  "2J"));
  CHECK(printable("csi \xc2\x9b"
                  "2J, next line \xc2\x85.") == "csi \\u009b2J, next line \\u0085.");
  CHECK_FALSE(has_control("\xc2\xa0\xc3\x80 \xc2"));  // no-break space, À, a lone lead byte
  CHECK(printable("\xc2\xa0\xc3\x80 \xc2") == "\xc2\xa0\xc3\x80 \xc2");
  CHECK(printable("Zo\u00eb \"quoted\"") == "Zo\u00eb \"quoted\"");
}

}  // namespace stepline::text
