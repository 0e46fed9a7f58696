#include <doctest/doctest.h>

#include <string>

#include <stepline/azure/connection_string.hpp>

using stepline::azure::ConnectionString;
using stepline::azure::ConnectionStringError;

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
