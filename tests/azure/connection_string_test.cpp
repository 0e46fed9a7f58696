#include <doctest/doctest.h>

#include <string>

#include <stepline/azure/connection_string.hpp>

using stepline::azure::check_connection_string;
using stepline::azure::ConnectionString;
using stepline::azure::ConnectionStringError;
using stepline::azure::mask_connection_string;
using stepline::azure::split_connection_string;

namespace {

// The message of the exception `text` raises, or "" when it parses.
std::string error_of(const std::string& text) {
  try {
    ConnectionString::parse(text);
  } catch (const ConnectionStringError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("a cloud connection string yields host, TLS on 5671 and per-entity audiences") {
  auto cs = ConnectionString::parse(
      "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
      "SharedAccessKey=abc+def/ghi=;EntityPath=orders");
  CHECK(cs.scheme == "sb");
  CHECK(cs.host == "contoso.servicebus.windows.net");
  CHECK_FALSE(cs.port);
  CHECK(cs.effective_port() == 5671);
  CHECK(cs.uses_tls());
  CHECK(cs.shared_access_key_name == "RootManageSharedAccessKey");
  CHECK(cs.shared_access_key == "abc+def/ghi=");  // split at the first '=' only
  CHECK(cs.entity_path == "orders");
  CHECK(cs.audience("orders") == "sb://contoso.servicebus.windows.net/orders");
}

TEST_CASE("whitespace around separators and empty parts are tolerated") {
  auto cs = ConnectionString::parse(
      "  Endpoint = sb://ns.example/ ;\n ; SharedAccessKeyName=k ;SharedAccessKey= v== ;");
  CHECK(cs.host == "ns.example");
  CHECK(cs.shared_access_key_name == "k");
  CHECK(cs.shared_access_key == "v==");
}

TEST_CASE("the emulator flag means plain TCP on 5672 unless a port is given") {
  auto cs = ConnectionString::parse(
      "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;"
      "SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;");
  CHECK_FALSE(cs.uses_tls());
  CHECK(cs.effective_port() == 5672);
  CHECK(cs.endpoint == "sb://localhost/");
  CHECK(cs.audience("queue.1") == "sb://localhost/queue.1");

  auto with_port = ConnectionString::parse(
      "Endpoint=sb://"
      "localhost:5708;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true");
  CHECK(with_port.host == "localhost");
  CHECK(with_port.effective_port() == 5708);
  CHECK(with_port.audience("eh1/Partitions/0") == "sb://localhost:5708/eh1/Partitions/0");

  // Only the exact text "true" enables the emulator.
  auto not_quite = ConnectionString::parse(
      "Endpoint=sb://"
      "localhost;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=True");
  CHECK(not_quite.uses_tls());
}

TEST_CASE("endpoints without a scheme and IPv6 loopbacks are understood") {
  auto bare =
      ConnectionString::parse("Endpoint=localhost:6765;SharedAccessKeyName=a;SharedAccessKey=b");
  CHECK(bare.scheme.empty());
  CHECK(bare.host == "localhost");
  CHECK(bare.port == 6765);

  auto loopback =
      ConnectionString::parse("Endpoint=sb://::1/;SharedAccessKeyName=a;SharedAccessKey=b");
  CHECK(loopback.host == "::1");
  CHECK_FALSE(loopback.port);

  auto bracketed = ConnectionString::parse(
      "Endpoint=amqp://[::1]:5699/;SharedAccessKeyName=a;SharedAccessKey=b");
  CHECK(bracketed.scheme == "amqp");
  CHECK(bracketed.host == "::1");
  CHECK(bracketed.port == 5699);
}

TEST_CASE("a SharedAccessSignature string carries the token verbatim") {
  auto cs = ConnectionString::parse(
      "Endpoint=sb://ns.example/;SharedAccessSignature=SharedAccessSignature "
      "sr=sb%3A%2F%2Fns.example%2F&sig=abc%3D&se=1700000000&skn=send");
  CHECK(cs.has_signature());
  CHECK_FALSE(cs.has_key());
  CHECK(cs.shared_access_signature ==
        "SharedAccessSignature sr=sb%3A%2F%2Fns.example%2F&sig=abc%3D&se=1700000000&skn=send");
}

TEST_CASE("malformed strings are refused with the key at fault and no secret in the message") {
  CHECK(error_of("SharedAccessKeyName=a;SharedAccessKey=topsecret").find("Endpoint is missing") !=
        std::string::npos);
  CHECK(error_of("endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=b").find("Endpoint") !=
        std::string::npos);  // keys are case-sensitive

  std::string orphan = error_of("Endpoint=sb://x/;SharedAccessKeyName=a;topsecretfragment");
  CHECK(orphan.find("part 3 has no '='") != std::string::npos);
  CHECK(orphan.find("topsecret") == std::string::npos);

  std::string lone_key = error_of("Endpoint=sb://x/;SharedAccessKey=topsecret");
  CHECK(lone_key.find("SharedAccessKeyName is missing") != std::string::npos);
  CHECK(lone_key.find("topsecret") == std::string::npos);

  CHECK(error_of("Endpoint=sb://x/;SharedAccessKeyName=a").find("SharedAccessKey is missing") !=
        std::string::npos);

  std::string both = error_of(
      "Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=topsecret;"
      "SharedAccessSignature=SharedAccessSignature sr=x&sig=topsecret2&se=1");
  CHECK(both.find("cannot be combined") != std::string::npos);
  CHECK(both.find("topsecret") == std::string::npos);

  std::string not_a_token = error_of("Endpoint=sb://x/;SharedAccessSignature=topsecret");
  CHECK(not_a_token.find("SharedAccessSignature must hold a token") != std::string::npos);
  CHECK(not_a_token.find("topsecret") == std::string::npos);

  CHECK(error_of("Endpoint=sb://x:99999/;SharedAccessKeyName=a;SharedAccessKey=b")
            .find("port '99999'") != std::string::npos);
  CHECK(error_of("Endpoint=sb:///;SharedAccessKeyName=a;SharedAccessKey=b").find("names no host") !=
        std::string::npos);
  CHECK(error_of("Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=")
            .find("SharedAccessKey is empty") != std::string::npos);
}

TEST_CASE("str() masks the key and the signature but keeps everything else") {
  auto cs = ConnectionString::parse(
      "Endpoint=sb://ns.example/;SharedAccessKeyName=send;SharedAccessKey=topsecret;EntityPath=q;"
      "UseDevelopmentEmulator=true");
  std::string shown = cs.str();
  CHECK(shown ==
        "Endpoint=sb://ns.example/;SharedAccessKeyName=send;SharedAccessKey=***;EntityPath=q;"
        "UseDevelopmentEmulator=true");
  auto sas = ConnectionString::parse(
      "Endpoint=sb://ns.example/;SharedAccessSignature=SharedAccessSignature "
      "sr=a&sig=topsecret&se=1");
  CHECK(sas.str() == "Endpoint=sb://ns.example/;SharedAccessSignature=***");
  // The masked form parses back into the same shape.
  CHECK(ConnectionString::parse(shown).host == "ns.example");
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

TEST_CASE("every problem of a connection string is reported at once, in the order written") {
  auto problems = check_connection_string(
      "Endpoint=sb://ns:port/;SharedAcessKey=S3CRET;entitypath=q;SharedAccessKeyName=;"
      "EntityPath=;EntityPath=q");
  for (const auto& p : problems) CHECK(p.find("S3CRET") == std::string::npos);
  CHECK(problems ==
        std::vector<std::string>{
            "the connection string has an unknown key 'SharedAcessKey'; known keys are Endpoint, "
            "SharedAccessKeyName, SharedAccessKey, SharedAccessSignature, EntityPath, "
            "UseDevelopmentEmulator",
            "the connection string has an unknown key 'entitypath'; keys are case-sensitive: "
            "write EntityPath",
            "the connection string's SharedAccessKeyName is empty; give it a value",
            "the connection string's EntityPath is empty; give it a value",
            "the connection string names EntityPath twice; keep one",
            "the connection string's Endpoint has a bad port; use a number 0-65535",
            "the connection string has SharedAccessKeyName without SharedAccessKey; add the key"});
}

TEST_CASE("the checker reads Endpoint hosts the way the parser does") {
  CHECK(check_connection_string("Endpoint=amqp://[::1]:5699/").empty());
  CHECK(check_connection_string("Endpoint=sb://::1/").empty());
  CHECK(check_connection_string("Endpoint=sb:///") ==
        std::vector<std::string>{"the connection string's Endpoint has no host name; write "
                                 "sb://HOST/"});
  CHECK(check_connection_string("Endpoint=sb://[::1/") ==
        std::vector<std::string>{"the connection string's Endpoint has an unclosed '['; write "
                                 "sb://[ADDRESS]:PORT/"});
  CHECK(check_connection_string("Endpoint=sb://ns:/") ==
        std::vector<std::string>{"the connection string's Endpoint has a bad port; use a number "
                                 "0-65535"});
}

TEST_CASE("the parser accepts what the SDKs accept even where the checker has doubts") {
  std::string text =
      "Endpoint=sb://first/;Endpoint=sb://second/;SharedAccessKeyName=a;SharedAccessKey=b;"
      "TransportType=Amqp;UseDevelopmentEmulator=yes";
  CHECK(check_connection_string(text).size() == 3);  // repeated, unknown, not a boolean
  auto cs = ConnectionString::parse(text);
  CHECK(cs.host == "second");  // the last value wins, as in the SDKs
  CHECK(cs.uses_tls());
}

TEST_CASE("str() and mask_connection_string() hide the same values") {
  std::string text =
      "Endpoint=sb://ns.example/;SharedAccessKeyName=send;SharedAccessKey=topsecret;EntityPath=q";
  CHECK(mask_connection_string(text) == ConnectionString::parse(text).str() + ";");
}
