// A shared access signature token as a peer hands it to stepline-broker's $cbs node before it
// has any right (put-token), with the audience it asks for: the input's first line is the
// audience, the rest the token. verify_sas_token() and SasToken::parse() either accept it or
// refuse it; beyond "no crash":
// - only SasTokenError escapes parse(), nothing escapes verify_sas_token();
// - a policy's key never shows in the reason a refusal gives (the peer reads it, the log keeps it);
// - a token the broker accepts parses again (the broker reads its expiry once it is valid), is
//   unexpired and was made for the audience or a parent of it;
// - a token made with the key for the input's audience verifies as valid for that audience.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <stepline/azure/sas_token.hpp>

namespace {

using namespace stepline::azure;

constexpr std::string_view policy = "sender";
constexpr std::string_view secret = "Zq9Xv3Kp7Lm2-secret-key";

void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "%s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto line = input.find('\n');
  const std::string_view audience = input.substr(0, line);
  const std::string_view token =
      line == std::string_view::npos ? std::string_view{} : input.substr(line + 1);
  const SasKeyLookup keys = [](std::string_view name) -> std::optional<std::string> {
    if (name == policy) return std::string(secret);
    return std::nullopt;
  };
  const auto now = SystemTime(std::chrono::seconds(1'800'000'000));

  try {
    SasToken::parse(token);
  } catch (const SasTokenError&) {
  }
  const SasVerification v = verify_sas_token(token, keys, audience, now);
  if (v.reason.find(secret) != std::string::npos && input.find(secret) == std::string_view::npos)
    fail("the reason shows the key", v.reason);
  if (v) {
    const SasToken parsed = SasToken::parse(token);  // must not throw
    if (parsed.expiry <= now) fail("an expired token was accepted", token);
    if (!audience_covered(parsed.resource, audience)) fail("a token for another audience", token);
  }

  const std::string made = create_sas_token(audience, policy, secret, now + std::chrono::hours(1));
  const SasVerification own = verify_sas_token(made, keys, audience, now);
  if (!own) fail("a token made for the audience is refused", own.reason);
  return 0;
}
