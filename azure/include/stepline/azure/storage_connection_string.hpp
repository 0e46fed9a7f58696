// Azure Storage connection strings, the form the portal's "Access keys" and "Shared access
// signature" pages give (`DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…;
// EndpointSuffix=core.windows.net`, or `BlobEndpoint=…;SharedAccessSignature=…`), and Azurite's
// `UseDevelopmentStorage=true`: split like the Service Bus ones (split_connection_string), read
// into the account, its Blob service endpoint and one credential, checked for every problem at
// once, printable with the secrets masked.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <stepline/azure/connection_string.hpp>

namespace stepline::azure {

struct StorageConnectionString {
  std::string account_name;
  std::string account_key;  ///< secret, base64 as the portal shows it; empty with a SAS
  /// Secret: the query string of an account or container SAS, without a leading '?'.
  std::string shared_access_signature;
  /// Where the Blob service answers, without a trailing '/': "https://ACCOUNT.blob.SUFFIX", the
  /// BlobEndpoint as written, or Azurite's "http://127.0.0.1:10000/devstoreaccount1".
  std::string blob_endpoint;

  /// Parses and validates; throws ConnectionStringError naming the key at fault, never a value.
  static StorageConnectionString parse(std::string_view text);

  bool has_key() const { return !account_key.empty(); }
  bool has_signature() const { return !shared_access_signature.empty(); }
  /// The connection string with AccountKey and SharedAccessSignature replaced by "***".
  std::string str() const;

  /// Every field compared: two strings that parse alike are the same account and credential.
  bool operator==(const StorageConnectionString&) const = default;
};

/// Azurite's well-known development account and key (public, printed in Microsoft's docs).
inline constexpr std::string_view development_storage_account = "devstoreaccount1";
inline constexpr std::string_view development_storage_key =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Everything wrong with a storage connection string, in the order it is written: malformed
/// parts, unknown or repeated keys, empty values, no account, no credential or two of them, a
/// key that is not base64, an endpoint that is not an http(s) URL. Empty when parse() accepts
/// it. Messages name keys, never values.
std::vector<std::string> check_storage_connection_string(std::string_view text);

/// The connection string with every value but the protocol, account name, suffix, endpoints and
/// UseDevelopmentStorage replaced by "***"; a malformed string becomes "***" entirely.
std::string mask_storage_connection_string(std::string_view text);

}  // namespace stepline::azure
