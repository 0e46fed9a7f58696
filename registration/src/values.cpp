#include <stepline/registration/values.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace stepline::registration {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The keys the Azure SDKs read from a connection string (case-sensitive).
constexpr std::array<std::string_view, 6> known_connection_keys = {
    "Endpoint",   "SharedAccessKeyName",   "SharedAccessKey", "SharedAccessSignature",
    "EntityPath", "UseDevelopmentEmulator"};

// Shown by mask_connection_string(); every other value (keys, signatures, and anything under a
// misspelt key) is masked.
bool is_public_key(std::string_view key) {
  return key == "Endpoint" || key == "SharedAccessKeyName" || key == "EntityPath" ||
         key == "UseDevelopmentEmulator";
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  std::chrono::milliseconds total{0};
  while (!text.empty()) {
    long long amount = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
    if (ec != std::errc{} || end == text.data() || amount < 0) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    std::size_t unit_length = 0;
    while (unit_length < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_length])))
      ++unit_length;
    std::string_view unit = text.substr(0, unit_length);
    text.remove_prefix(unit_length);
    if (unit == "ms")
      total += std::chrono::milliseconds(amount);
    else if (unit == "s")
      total += std::chrono::seconds(amount);
    else if (unit == "m")
      total += std::chrono::minutes(amount);
    else if (unit == "h")
      total += std::chrono::hours(amount);
    else
      return std::nullopt;
  }
  return total;
}

std::string format_duration(std::chrono::milliseconds duration) {
  long long ms = duration.count();
  if (ms == 0) return "0ms";
  std::string out;
  constexpr std::array<std::pair<long long, std::string_view>, 4> units = {
      {{3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}, {1, "ms"}}};
  for (auto [size, unit] : units) {
    if (ms >= size) {
      out += std::to_string(ms / size);
      out += unit;
      ms %= size;
    }
  }
  return out;
}

Guid name_based_id(std::string_view name) {
  // Fixed namespace so that ids differ from name-based ids other programs derive from the same
  // text; never change it, or every derived step id changes.
  static constexpr std::array<std::uint8_t, 16> name_space = {0x5e, 0x91, 0x7c, 0x3a, 0x0b, 0x44,
                                                              0x4f, 0x2d, 0x9a, 0x61, 0x3c, 0x88,
                                                              0xd2, 0x17, 0xe4, 0x05};
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, name_space.data(), name_space.size());
  EVP_DigestUpdate(ctx, name.data(), name.size());
  EVP_DigestFinal_ex(ctx, digest.data(), &length);
  EVP_MD_CTX_free(ctx);
  std::array<std::uint8_t, 16> bytes{};
  std::copy_n(digest.begin(), 16, bytes.begin());
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x80);  // version 8 (custom)
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80);  // RFC 9562 variant
  return Guid(bytes);
}

Guid step_id_from_name(std::string_view step_name) {
  return name_based_id("step:" + std::string(step_name));
}

std::optional<std::vector<ConnectionStringPart>> split_connection_string(std::string_view text) {
  std::vector<ConnectionStringPart> parts;
  while (true) {
    std::size_t semicolon = text.find(';');
    std::string_view part = trim(text.substr(0, semicolon));
    if (!part.empty()) {
      std::size_t equals = part.find('=');
      if (equals == std::string_view::npos) return std::nullopt;
      std::string_view key = trim(part.substr(0, equals));
      if (key.empty()) return std::nullopt;
      parts.push_back({std::string(key), std::string(trim(part.substr(equals + 1)))});
    }
    if (semicolon == std::string_view::npos) break;
    text.remove_prefix(semicolon + 1);
  }
  return parts;
}

std::vector<std::string> check_connection_string(std::string_view text) {
  std::vector<std::string> problems;
  auto parts = split_connection_string(text);
  if (!parts) {
    return {
        "the connection string is malformed: every part must be Key=Value, parts separated "
        "by ';' (Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=...;"
        "SharedAccessKey=...)"};
  }
  std::vector<std::string_view> seen;
  auto has = [&](std::string_view key) {
    return std::find(seen.begin(), seen.end(), key) != seen.end();
  };
  const ConnectionStringPart* endpoint = nullptr;
  for (const auto& part : *parts) {
    if (has(part.key)) {
      problems.push_back("the connection string names " + part.key + " twice; keep one");
      continue;
    }
    auto known = std::find(known_connection_keys.begin(), known_connection_keys.end(), part.key);
    if (known == known_connection_keys.end()) {
      auto same_but_case = std::find_if(
          known_connection_keys.begin(), known_connection_keys.end(), [&](std::string_view k) {
            return std::equal(k.begin(), k.end(), part.key.begin(), part.key.end(),
                              [](char a, char b) { return std::tolower(a) == std::tolower(b); });
          });
      std::string message = "the connection string has an unknown key '" + part.key + "'";
      if (same_but_case != known_connection_keys.end())
        message += "; keys are case-sensitive: write " + std::string(*same_but_case);
      else
        message +=
            "; known keys are Endpoint, SharedAccessKeyName, SharedAccessKey, "
            "SharedAccessSignature, EntityPath, UseDevelopmentEmulator";
      problems.push_back(std::move(message));
      continue;
    }
    seen.push_back(*known);
    if (part.key == "Endpoint") endpoint = &part;
    if (part.value.empty())
      problems.push_back("the connection string's " + part.key + " is empty; give it a value");
  }
  if (!endpoint) {
    problems.push_back(
        "the connection string has no Endpoint; add "
        "Endpoint=sb://NAMESPACE.servicebus.windows.net/");
  } else if (!endpoint->value.empty()) {
    std::string_view value = endpoint->value;
    std::size_t scheme = value.find("://");
    std::string_view authority =
        scheme == std::string_view::npos ? value : value.substr(scheme + 3);
    authority = authority.substr(0, authority.find('/'));
    std::size_t colon = authority.rfind(':');
    std::string_view host = authority.substr(0, colon);
    if (host.empty())
      problems.push_back("the connection string's Endpoint has no host name; write sb://HOST/");
    if (colon != std::string_view::npos) {
      std::string_view port_text = authority.substr(colon + 1);
      unsigned port = 0;
      auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
        problems.push_back("the connection string's Endpoint has a bad port; use a number 0-65535");
    }
  }
  bool signature = has("SharedAccessSignature");
  bool key = has("SharedAccessKey"), key_name = has("SharedAccessKeyName");
  if (signature && (key || key_name))
    problems.push_back(
        "the connection string has both SharedAccessSignature and SharedAccessKey/"
        "SharedAccessKeyName; keep one way of authenticating");
  else if (key != key_name)
    problems.push_back(key ? "the connection string has SharedAccessKey without "
                             "SharedAccessKeyName; add the key's name"
                           : "the connection string has SharedAccessKeyName without "
                             "SharedAccessKey; add the key");
  for (const auto& part : *parts) {
    if (part.key == "SharedAccessSignature" && !part.value.empty() &&
        !part.value.starts_with("SharedAccessSignature "))
      problems.push_back(
          "the connection string's SharedAccessSignature must start with "
          "'SharedAccessSignature sr='; paste the whole token");
    if (part.key == "UseDevelopmentEmulator" && part.value != "true" && part.value != "false")
      problems.push_back("the connection string's UseDevelopmentEmulator must be true or false");
  }
  return problems;
}

std::string mask_connection_string(std::string_view text) {
  auto parts = split_connection_string(text);
  if (!parts) return "***";
  std::string out;
  for (const auto& part : *parts) {
    out += part.key;
    out += '=';
    out += is_public_key(part.key) ? part.value : "***";
    out += ';';
  }
  return out;
}

}  // namespace stepline::registration
