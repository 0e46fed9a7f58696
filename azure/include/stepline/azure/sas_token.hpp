// Shared access signature tokens: creating them exactly as the Azure SDKs do, and verifying them
// the way a broker emulating Service Bus or Event Hubs must.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace stepline::azure {

using SystemTime = std::chrono::system_clock::time_point;

/// A token that cannot be parsed. The message names the missing or bad field, never the token.
class SasTokenError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// JavaScript encodeURIComponent: letters, digits and -_.!~*'() are kept, every other UTF-8
/// byte becomes %XX (upper-case hex).
std::string encode_uri_component(std::string_view text);
/// Reverses %XX escapes; throws SasTokenError on a truncated or non-hex escape.
std::string decode_uri_component(std::string_view text);
/// base64(HMAC-SHA256(key bytes as typed, message)), unencoded.
std::string hmac_sha256_base64(std::string_view key, std::string_view message);

/// "SharedAccessSignature sr=<enc(audience)>&sig=<enc(sig)>&se=<expiry>&skn=<enc(key_name)>",
/// signed over "<enc(audience)>\n<expiry seconds>" with the key text as typed (not base64-decoded).
std::string create_sas_token(std::string_view audience, std::string_view key_name,
                             std::string_view key, SystemTime expiry);
/// The same, valid for `validity` from now (the SDKs use one hour).
std::string create_sas_token(std::string_view audience, std::string_view key_name,
                             std::string_view key,
                             std::chrono::seconds validity = std::chrono::hours(1));

/// The fields of a token, decoded.
struct SasToken {
  std::string resource;     ///< sr, decoded: the audience the token was made for
  std::string key_name;     ///< skn, decoded; empty when the token carries none
  SystemTime expiry;        ///< se
  std::string signature;    ///< sig, decoded base64
  std::string signed_text;  ///< what was signed: the raw sr text, LF, the raw se text

  /// Parses "SharedAccessSignature k=v&k=v…" (fields in any order); throws SasTokenError.
  static SasToken parse(std::string_view token);
};

/// Why a token was refused (or `valid`).
enum class SasVerdict { valid, malformed, unknown_key, bad_signature, expired, wrong_audience };

struct SasVerification {
  SasVerdict verdict = SasVerdict::malformed;
  std::string key_name;  ///< the rule that signed it, when known
  std::string reason;    ///< for logs and status-description; contains no secret
  explicit operator bool() const { return verdict == SasVerdict::valid; }
};

/// Looks up the key of a shared access rule by name; nullopt for an unknown rule.
using SasKeyLookup = std::function<std::optional<std::string>(std::string_view key_name)>;

/// True when a token made for `resource` grants access to `audience`: same host (case-insensitive,
/// scheme and port ignored) and the resource path is the audience path or a '/'-bounded prefix
/// of it, so a namespace token ("sb://ns/") covers every entity and "sb://ns/t" covers
/// "sb://ns/t/Subscriptions/s" but not "sb://ns/t2". Entity names compare case-insensitively.
bool audience_covered(std::string_view resource, std::string_view audience);

/// Checks a token for `audience` (a full URI such as "sb://localhost/orders"): well formed,
/// signed by a known rule's key, not expired at `now`, and made for that audience or a parent.
SasVerification verify_sas_token(std::string_view token, const SasKeyLookup& keys,
                                 std::string_view audience,
                                 SystemTime now = std::chrono::system_clock::now());

}  // namespace stepline::azure
