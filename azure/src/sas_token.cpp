#include "stepline/azure/sas_token.hpp"

#include <algorithm>
#include <charconv>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stepline/text.hpp>

namespace stepline::azure {
namespace {

struct UriParts {
  std::string host;  // lower case, port removed
  std::string path;  // lower case, no leading or trailing '/'
};

UriParts split_uri(std::string_view uri) {
  if (auto sep = uri.find("://"); sep != std::string_view::npos) uri.remove_prefix(sep + 3);
  auto slash = uri.find('/');
  std::string_view authority = uri.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : uri.substr(slash);
  if (!authority.empty() && authority.front() == '[') {
    authority = authority.substr(1, authority.find(']') - 1);
  } else if (std::count(authority.begin(), authority.end(), ':') == 1) {
    authority = authority.substr(0, authority.find(':'));
  }
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return {text::lower(authority), text::lower(path)};
}

std::int64_t seconds_since_epoch(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string encode_uri_component(std::string_view text) {
  return text::percent_encode(text, "-_.!~*'()");
}

std::string decode_uri_component(std::string_view text) {
  if (auto at = text::bad_percent_escape(text); at != std::string_view::npos)
    throw SasTokenError("bad %-escape at offset " + std::to_string(at));
  return text::percent_decode(text);
}

std::string hmac_sha256_base64(std::string_view key, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
            &length)) {
    throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");
  }
  std::string out(4 * ((length + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), digest, static_cast<int>(length));
  return out;
}

std::string create_sas_token(std::string_view audience, std::string_view key_name,
                             std::string_view key, SystemTime expiry) {
  std::string sr = encode_uri_component(audience);
  std::string se = std::to_string(seconds_since_epoch(expiry));
  std::string sig = encode_uri_component(hmac_sha256_base64(key, sr + "\n" + se));
  return "SharedAccessSignature sr=" + sr + "&sig=" + sig + "&se=" + se +
         "&skn=" + encode_uri_component(key_name);
}

std::string create_sas_token(std::string_view audience, std::string_view key_name,
                             std::string_view key, std::chrono::seconds validity) {
  auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  return create_sas_token(audience, key_name, key, now + validity);
}

SasToken SasToken::parse(std::string_view token) {
  constexpr std::string_view prefix = "SharedAccessSignature ";
  if (token.substr(0, prefix.size()) != prefix) {
    throw SasTokenError("a SAS token starts with 'SharedAccessSignature '");
  }
  token.remove_prefix(prefix.size());
  std::string_view sr, sig, se, skn;
  bool have_sr = false, have_sig = false, have_se = false;
  while (!token.empty()) {
    auto amp = token.find('&');
    std::string_view field = token.substr(0, amp);
    token = amp == std::string_view::npos ? std::string_view{} : token.substr(amp + 1);
    auto eq = field.find('=');
    if (eq == std::string_view::npos) throw SasTokenError("a SAS token field has no '='");
    std::string_view name = field.substr(0, eq), value = field.substr(eq + 1);
    if (name == "sr")
      sr = value, have_sr = true;
    else if (name == "sig")
      sig = value, have_sig = true;
    else if (name == "se")
      se = value, have_se = true;
    else if (name == "skn")
      skn = value;
  }
  if (!have_sr) throw SasTokenError("the SAS token has no sr (resource)");
  if (!have_sig) throw SasTokenError("the SAS token has no sig (signature)");
  if (!have_se) throw SasTokenError("the SAS token has no se (expiry)");
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(se.data(), se.data() + se.size(), seconds);
  if (ec != std::errc() || end != se.data() + se.size() || se.empty()) {
    throw SasTokenError("the SAS token's se is not a number of seconds");
  }
  // A time point of the system clock counts nanoseconds in 64 bits, which end in April 2262:
  // a later expiry would overflow it.
  constexpr std::int64_t last_second =
      std::chrono::duration_cast<std::chrono::seconds>(SystemTime::duration::max()).count();
  if (seconds < 0 || seconds > last_second) {
    throw SasTokenError("the SAS token's se is not a time between 1970 and 2262");
  }
  SasToken parsed;
  parsed.resource = decode_uri_component(sr);
  parsed.signature = decode_uri_component(sig);
  parsed.key_name = decode_uri_component(skn);
  parsed.expiry = SystemTime(std::chrono::seconds(seconds));
  parsed.signed_text = std::string(sr) + "\n" + std::string(se);
  return parsed;
}

bool audience_covered(std::string_view resource, std::string_view audience) {
  UriParts granted = split_uri(resource), wanted = split_uri(audience);
  if (granted.host != wanted.host) return false;
  if (granted.path.empty()) return true;
  if (wanted.path.size() < granted.path.size()) return false;
  if (wanted.path.compare(0, granted.path.size(), granted.path) != 0) return false;
  return wanted.path.size() == granted.path.size() || wanted.path[granted.path.size()] == '/';
}

SasVerification verify_sas_token(std::string_view token, const SasKeyLookup& keys,
                                 std::string_view audience, SystemTime now) {
  SasVerification result;
  SasToken parsed;
  try {
    parsed = SasToken::parse(token);
  } catch (const SasTokenError& e) {
    result.reason = e.what();
    return result;
  }
  result.key_name = parsed.key_name;
  auto key = keys ? keys(parsed.key_name) : std::nullopt;
  if (!key) {
    result.verdict = SasVerdict::unknown_key;
    result.reason = "no shared access policy named '" + parsed.key_name + "'";
    return result;
  }
  std::string expected = hmac_sha256_base64(*key, parsed.signed_text);
  if (expected.size() != parsed.signature.size() ||
      CRYPTO_memcmp(expected.data(), parsed.signature.data(), expected.size()) != 0) {
    result.verdict = SasVerdict::bad_signature;
    result.reason = "the signature does not match the key of policy '" + parsed.key_name + "'";
    return result;
  }
  if (parsed.expiry <= now) {
    result.verdict = SasVerdict::expired;
    result.reason =
        "the token expired " +
        std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(now - parsed.expiry).count()) +
        " s ago";
    return result;
  }
  if (!audience_covered(parsed.resource, audience)) {
    result.verdict = SasVerdict::wrong_audience;
    result.reason =
        "the token is for '" + parsed.resource + "', not '" + std::string(audience) + "'";
    return result;
  }
  result.verdict = SasVerdict::valid;
  return result;
}

}  // namespace stepline::azure
