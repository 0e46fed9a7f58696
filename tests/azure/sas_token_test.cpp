#include <doctest/doctest.h>

#include <map>

#include <stepline/azure/sas_token.hpp>

using namespace stepline::azure;
using std::chrono::seconds;

namespace {

SystemTime at(long long s) {
  return SystemTime(seconds(s));
}

SasKeyLookup keys(std::map<std::string, std::string, std::less<>> table) {
  return [table = std::move(table)](std::string_view name) -> std::optional<std::string> {
    auto it = table.find(name);
    if (it == table.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_CASE("URI-component encoding follows JavaScript's encodeURIComponent") {
  CHECK(encode_uri_component("sb://hostname.servicebus.windows.net/") ==
        "sb%3A%2F%2Fhostname.servicebus.windows.net%2F");
  CHECK(encode_uri_component("a-b_c.d!e~f*g'h(i)j") == "a-b_c.d!e~f*g'h(i)j");
  CHECK(encode_uri_component("$cbs q+1=2 é") == "%24cbs%20q%2B1%3D2%20%C3%A9");
  CHECK(decode_uri_component("%24cbs%20q%2b1") == "$cbs q+1");
  CHECK_THROWS_AS(decode_uri_component("abc%2"), SasTokenError);
  CHECK_THROWS_AS(decode_uri_component("abc%zz"), SasTokenError);
}

TEST_CASE("HMAC-SHA256 matches the published SDK vector") {
  CHECK(encode_uri_component(hmac_sha256_base64("testKey", "testMessage")) ==
        "8N7PlLvnGgnE2gFU7%2BAkSxmAc02cXFkOLlFD5gTuOjo%3D");
}

TEST_CASE("a token is built byte for byte as the SDKs build it") {
  CHECK(create_sas_token("sb://localhost/queue.1", "RootManageSharedAccessKey", "SAS_KEY_VALUE",
                         at(1700000000)) ==
        "SharedAccessSignature "
        "sr=sb%3A%2F%2Flocalhost%2Fqueue.1&sig=kVTHdaUjTWZZunyrEZsHF8WL7nEpir93aXQ1XkVu79k%3D"
        "&se=1700000000&skn=RootManageSharedAccessKey");
}

TEST_CASE("a fresh token is valid for an hour by default") {
  auto before = std::chrono::system_clock::now();
  auto token = SasToken::parse(create_sas_token("sb://ns/q", "send", "key"));
  auto validity = token.expiry - before;
  CHECK(validity > std::chrono::minutes(59));
  CHECK(validity <= std::chrono::minutes(61));
  CHECK(token.resource == "sb://ns/q");
  CHECK(token.key_name == "send");
}

TEST_CASE("parsing reads fields in any order and names what is missing") {
  auto token =
      SasToken::parse("SharedAccessSignature skn=k%20n&se=42&sig=a%2Bb%3D&sr=sb%3A%2F%2Fns%2Fq");
  CHECK(token.resource == "sb://ns/q");
  CHECK(token.key_name == "k n");
  CHECK(token.signature == "a+b=");
  CHECK(token.expiry == at(42));
  CHECK(token.signed_text == "sb%3A%2F%2Fns%2Fq\n42");
  CHECK_THROWS_WITH_AS(SasToken::parse("sr=x&sig=y&se=1"), doctest::Contains("starts with"),
                       SasTokenError);
  CHECK_THROWS_WITH_AS(SasToken::parse("SharedAccessSignature sr=x&se=1"),
                       doctest::Contains("no sig"), SasTokenError);
  CHECK_THROWS_WITH_AS(SasToken::parse("SharedAccessSignature sr=x&sig=y&se=soon"),
                       doctest::Contains("se is not a number"), SasTokenError);
  // An expiry the system clock cannot hold (its nanoseconds would overflow) or before 1970.
  CHECK_THROWS_WITH_AS(SasToken::parse("SharedAccessSignature sr=x&sig=y&se=9223372036854775807"),
                       doctest::Contains("se is not a time between 1970 and 2262"), SasTokenError);
  CHECK_THROWS_WITH_AS(SasToken::parse("SharedAccessSignature sr=x&sig=y&se=10000000000"),
                       doctest::Contains("between 1970 and 2262"), SasTokenError);
  CHECK_THROWS_WITH_AS(SasToken::parse("SharedAccessSignature sr=x&sig=y&se=-1"),
                       doctest::Contains("between 1970 and 2262"), SasTokenError);
  CHECK(
      SasToken::parse("SharedAccessSignature sr=x&sig=y&se=9223372036").expiry.time_since_epoch() ==
      std::chrono::seconds(9223372036));
}

TEST_CASE("a namespace token covers every entity, an entity token covers its children only") {
  CHECK(audience_covered("sb://ns.example/", "sb://ns.example/orders"));
  CHECK(audience_covered("sb://ns.example", "amqps://NS.example:5671/orders"));
  CHECK(audience_covered("sb://ns.example/t", "sb://ns.example/t/Subscriptions/s"));
  CHECK(audience_covered("sb://ns.example/Orders/", "sb://ns.example/orders"));
  CHECK_FALSE(audience_covered("sb://ns.example/t", "sb://ns.example/t2"));
  CHECK_FALSE(audience_covered("sb://ns.example/t/Subscriptions/s", "sb://ns.example/t"));
  CHECK_FALSE(audience_covered("sb://other.example/", "sb://ns.example/orders"));
}

TEST_CASE("verification accepts a good token and says why it refuses a bad one") {
  auto lookup = keys({{"send", "secret-key"}, {"listen", "other-key"}});
  auto now = at(1700000000);
  std::string good =
      create_sas_token("sb://localhost/queue.1", "send", "secret-key", at(1700003600));

  auto ok = verify_sas_token(good, lookup, "sb://localhost:5672/queue.1", now);
  CHECK(ok);
  CHECK(ok.verdict == SasVerdict::valid);
  CHECK(ok.key_name == "send");

  auto expired = verify_sas_token(good, lookup, "sb://localhost/queue.1", at(1700003600));
  CHECK(expired.verdict == SasVerdict::expired);

  auto elsewhere = verify_sas_token(good, lookup, "sb://localhost/queue.2", now);
  CHECK(elsewhere.verdict == SasVerdict::wrong_audience);
  CHECK(elsewhere.reason.find("queue.2") != std::string::npos);

  std::string wrong_key =
      create_sas_token("sb://localhost/queue.1", "send", "guessed", at(1700003600));
  auto forged = verify_sas_token(wrong_key, lookup, "sb://localhost/queue.1", now);
  CHECK(forged.verdict == SasVerdict::bad_signature);
  CHECK(forged.reason.find("secret-key") == std::string::npos);

  std::string stranger =
      create_sas_token("sb://localhost/queue.1", "admin", "secret-key", at(1700003600));
  CHECK(verify_sas_token(stranger, lookup, "sb://localhost/queue.1", now).verdict ==
        SasVerdict::unknown_key);

  // Moving the expiry forward breaks the signature.
  std::string tampered = good;
  tampered.replace(tampered.find("se=1700003600"), 13, "se=1800003600");
  CHECK(verify_sas_token(tampered, lookup, "sb://localhost/queue.1", now).verdict ==
        SasVerdict::bad_signature);

  CHECK(verify_sas_token("garbage", lookup, "sb://localhost/queue.1", now).verdict ==
        SasVerdict::malformed);
}
