// The Azure Blob Storage REST requests a claim check needs (Put Blob, Get Blob, Delete Blob,
// Create Container), built and authorized the way the service expects: Shared Key (an HMAC-SHA256
// of the canonical request under the account key, signed with OpenSSL) or a SAS appended to the
// URL. Only the request is made here; any HTTP client sends it.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stepline/azure/storage_connection_string.hpp>

namespace stepline::azure::blob {

/// The x-ms-version every request is made with.
inline constexpr std::string_view api_version = "2021-12-02";

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;
  /// The URL to send to. With a SAS credential it carries the signature: a secret, as is the
  /// Authorization header of a Shared Key request. Log blob_url() instead.
  std::string url;
  Headers headers;
};

/// "<blob endpoint>/<container>/<name>", the name percent-encoded segment by segment ('/' kept):
/// the blob's address, with no credential in it.
std::string blob_url(const StorageConnectionString& account, std::string_view container,
                     std::string_view name);
/// True when `url` is a blob of the account's Blob service: the same scheme, host and port and a
/// path under the endpoint's. A reader signs requests only for those, so a message cannot make
/// it send its credential elsewhere.
bool is_blob_of(const StorageConnectionString& account, std::string_view url);

/// Put Blob (a block blob in one request, which the service allows up to 5000 MiB): the body's
/// Content-MD5 lets the service refuse bytes damaged in transit; `metadata` become x-ms-meta-*.
Request put_blob(const StorageConnectionString& account, std::string_view container,
                 std::string_view name, std::string_view body, std::string_view content_type,
                 const Headers& metadata = {},
                 std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
/// Get Blob of a blob_url().
Request get_blob(const StorageConnectionString& account, std::string_view url,
                 std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
/// Delete Blob of a blob_url().
Request delete_blob(const StorageConnectionString& account, std::string_view url,
                    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
/// Create Container (private: no public read access).
Request create_container(
    const StorageConnectionString& account, std::string_view container,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// "SharedKey <account>:<base64 HMAC-SHA256>" for a request, over the string to sign the Blob
/// service defines (verb, the standard headers, the x-ms-* headers sorted, the canonical
/// resource with its query parameters). `key_base64` is the account key as the portal shows it.
std::string shared_key_authorization(std::string_view account, std::string_view key_base64,
                                     std::string_view method, std::string_view url,
                                     const Headers& headers);

/// An RFC 1123 date as x-ms-date wants it: "Sun, 06 Dec 2026 01:36:07 GMT".
std::string http_date(std::chrono::system_clock::time_point time);

}  // namespace stepline::azure::blob
