// Claim checks: when an endpoint's size_policy is claim-check and a context is over the
// endpoint's limit, the host uploads the body to Azure Blob Storage and posts a small body that
// names it instead, with every property of the message kept. This is that small body, and the
// interface a listener fetches the real body through. format::parse() and parse_any_format()
// recognise a claim check and refuse to read it as a context; parse_any_format() with a
// ClaimCheckSource fetches, verifies and parses the real body. The Blob Storage reader is the
// optional claim_check component (stepline/claim_check/blob_reader.hpp), so that the SDK itself
// needs no HTTP client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <stepline/api.hpp>
#include <stepline/format/format.hpp>

namespace stepline::format {

/// The content type of a claim-checked message's body.
inline constexpr std::string_view claim_check_content_type =
    "application/vnd.stepline.claim-check+json";
/// The application property (and, on webhooks, the x-stepline-claim-check header) a
/// claim-checked message carries: the blob's URL.
inline constexpr std::string_view claim_check_property = "stepline.claim_check";

struct STEPLINE_API ClaimCheck {
  std::string url;         ///< the blob, with no credential: https://ACCOUNT.blob…/CONTAINER/NAME
  std::uint64_t size = 0;  ///< bytes of the real body
  std::string content_type;  ///< of the real body: application/json, application/xml, …
  /// The registered format to read the real body in: "json", "binary", …
  std::string format = "dataverse-json";
  std::string sha256;                      ///< lower-case hex SHA-256 of the real body
  /// The host will not delete the blob: the listener deletes it once it has completed the
  /// message (claim_check.delete: after-confirm on a queue endpoint).
  bool delete_after_read = false;

  friend STEPLINE_API bool operator==(const ClaimCheck& a, const ClaimCheck& b);
};

/// The body of a claim-checked message:
/// {"stepline.claim_check":{"url":…,"size":…,"contentType":…,"format":…,"sha256":…,
/// "deleteAfterRead":…}}.
STEPLINE_API std::string write_claim_check(const ClaimCheck& reference);
/// The reference in `body`, or nullopt when the body is not a claim check (any context body).
/// Throws FormatError for a claim check with a missing or malformed field.
STEPLINE_API std::optional<ClaimCheck> read_claim_check(std::string_view body);
/// True when `body` starts like a claim check; cheap, for dispatching.
STEPLINE_API bool is_claim_check(std::string_view body) noexcept;

/// Where a listener fetches a claim-checked body from. fetch() returns exactly the bytes the
/// reference describes (its size and SHA-256 checked) or throws.
class STEPLINE_API ClaimCheckSource {
 public:
  virtual ~ClaimCheckSource();
  virtual std::string fetch(const ClaimCheck& reference) = 0;
};

}  // namespace stepline::format
