// Azure Storage connection strings and Blob Storage request signing. That the signature is what
// the service expects is proven against Azurite in tests/claim_check; here the exact string that
// is signed is spelled out, so a change to it cannot pass unnoticed.
#include <doctest/doctest.h>

#include <stepline/azure/blob_request.hpp>
#include <stepline/azure/digest.hpp>
#include <stepline/azure/storage_connection_string.hpp>

using namespace stepline::azure;

namespace {

const std::string key = "a2V5LWJ5dGVzLWZvci10ZXN0aW5nLW9ubHktMzItYnl0ZXM=";

std::string header(const blob::Request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

}  // namespace

TEST_CASE("a portal connection string names the account's blob endpoint and its key") {
  auto cs = StorageConnectionString::parse(
      "DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=" + key +
      ";EndpointSuffix=core.windows.net");
  CHECK(cs.account_name == "contoso");
  CHECK(cs.account_key == key);
  CHECK(cs.blob_endpoint == "https://contoso.blob.core.windows.net");
  CHECK(cs.str() ==
        "BlobEndpoint=https://contoso.blob.core.windows.net;AccountName=contoso;"
        "AccountKey=***");
}

TEST_CASE("UseDevelopmentStorage=true is Azurite's account on 127.0.0.1:10000") {
  auto cs = StorageConnectionString::parse("UseDevelopmentStorage=true");
  CHECK(cs.account_name == "devstoreaccount1");
  CHECK(cs.blob_endpoint == "http://127.0.0.1:10000/devstoreaccount1");
  CHECK(cs.has_key());
}

TEST_CASE("a SAS connection string keeps the query without its '?'") {
  auto cs = StorageConnectionString::parse(
      "BlobEndpoint=https://contoso.blob.core.windows.net/;SharedAccessSignature=?sv=2021-12-02&"
      "sp=rcw&sig=abc%3D");
  CHECK(cs.blob_endpoint == "https://contoso.blob.core.windows.net");
  CHECK(cs.shared_access_signature == "sv=2021-12-02&sp=rcw&sig=abc%3D");
  auto request = blob::put_blob(cs, "claims", "orders/1", "{}", "application/json");
  CHECK(request.url ==
        "https://contoso.blob.core.windows.net/claims/orders/1?sv=2021-12-02&sp=rcw&sig=abc%3D");
  CHECK(header(request, "Authorization").empty());
}

TEST_CASE("every problem of a storage connection string is named, never a value") {
  auto problems = check_storage_connection_string(
      "AccountName=contoso;accountkey=secret-value;Bogus=1;AccountName=again");
  REQUIRE(problems.size() == 4);
  CHECK(problems[0].find("keys are case-sensitive: write AccountKey") != std::string::npos);
  CHECK(problems[1].find("unknown key 'Bogus'") != std::string::npos);
  CHECK(problems[2].find("names AccountName twice") != std::string::npos);
  CHECK(problems[3].find("no credential") != std::string::npos);
  for (const auto& p : problems) CHECK(p.find("secret-value") == std::string::npos);
  CHECK(check_storage_connection_string("AccountName=a;AccountKey=not base64!").size() == 1);
  CHECK(check_storage_connection_string("AccountName=a;AccountKey=" + key +
                                        ";SharedAccessSignature=sig=x")
            .size() == 1);
  CHECK_THROWS_AS(StorageConnectionString::parse("AccountKey=" + key), ConnectionStringError);
  CHECK(mask_storage_connection_string("AccountName=a;AccountKey=" + key) ==
        "AccountName=a;AccountKey=***");
}

TEST_CASE("Put Blob is signed with Shared Key over the string the Blob service defines") {
  auto cs = StorageConnectionString::parse("AccountName=contoso;AccountKey=" + key +
                                           ";BlobEndpoint=http://127.0.0.1:10000/contoso");
  const auto now = std::chrono::system_clock::from_time_t(1798160167);  // 2026-12-25 00:56:07 UTC
  auto request = blob::put_blob(cs, "claims", "orders/a b", "hello", "application/json",
                                {{"sha256", "x"}}, now);
  CHECK(request.method == "PUT");
  CHECK(request.url == "http://127.0.0.1:10000/contoso/claims/orders/a%20b");
  CHECK(header(request, "x-ms-date") == "Fri, 25 Dec 2026 00:56:07 GMT");
  CHECK(header(request, "Content-MD5") == base64_encode(md5("hello")));
  const std::string to_sign =
      "PUT\n\n\n5\n" + base64_encode(md5("hello")) +
      "\napplication/json\n\n\n\n\n\n\n"
      "x-ms-blob-type:BlockBlob\nx-ms-date:Fri, 25 Dec 2026 00:56:07 GMT\nx-ms-meta-sha256:x\n"
      "x-ms-version:2021-12-02\n/contoso/contoso/claims/orders/a%20b";
  CHECK(header(request, "Authorization") ==
        "SharedKey contoso:" + base64_encode(hmac_sha256(*base64_decode(key), to_sign)));
}

TEST_CASE("query parameters are signed sorted, decoded and lower-cased") {
  blob::Headers headers = {{"x-ms-date", "d"}, {"x-ms-version", "v"}, {"Content-Length", "0"}};
  const std::string to_sign =
      "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:d\nx-ms-version:v\n/acct/c\ncomp:a "
      "b\nrestype:container";
  CHECK(blob::shared_key_authorization("acct", key, "PUT",
                                       "https://acct.blob.core.windows.net/c?restype=container&"
                                       "Comp=a%20b",
                                       headers) ==
        "SharedKey acct:" + base64_encode(hmac_sha256(*base64_decode(key), to_sign)));
}

TEST_CASE("a reader signs only for blobs of its own account") {
  auto cs = StorageConnectionString::parse("UseDevelopmentStorage=true");
  CHECK(blob::is_blob_of(cs, "http://127.0.0.1:10000/devstoreaccount1/claims/x"));
  CHECK_FALSE(blob::is_blob_of(cs, "http://127.0.0.1:10000/devstoreaccount2/claims/x"));
  CHECK_FALSE(blob::is_blob_of(cs, "http://127.0.0.1:10001/devstoreaccount1/claims/x"));
  CHECK_FALSE(blob::is_blob_of(cs, "http://evil.example/devstoreaccount1/claims/x"));
  CHECK_FALSE(blob::is_blob_of(cs, "http://127.0.0.1:10000/devstoreaccount1/../other/x"));
  CHECK_FALSE(blob::is_blob_of(cs, "http://127.0.0.1:10000/devstoreaccount1/c/x?comp=list"));
}

TEST_CASE("digests and encodings round-trip") {
  CHECK(hex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(base64_encode("hello") == "aGVsbG8=");
  CHECK(base64_decode("aGVsbG8=") == "hello");
  CHECK(base64_decode("aGVsbG8") == std::nullopt);
  CHECK(base64_decode("aGV*bG8=") == std::nullopt);
  CHECK(base64_decode("") == "");
}
