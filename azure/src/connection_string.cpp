#include "stepline/azure/connection_string.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include <stepline/text.hpp>

namespace stepline::azure {
namespace {

using text::iequals;
using text::trim;

// The keys the Azure SDKs read (case-sensitive); every other key is ignored by them.
constexpr std::array<std::string_view, 6> known_keys = {
    "Endpoint",   "SharedAccessKeyName",   "SharedAccessKey", "SharedAccessSignature",
    "EntityPath", "UseDevelopmentEmulator"};

// The values that may be shown; every other value (keys, signatures, anything under a misspelt
// key) is masked.
bool is_public_key(std::string_view key) {
  return key == "Endpoint" || key == "SharedAccessKeyName" || key == "EntityPath" ||
         key == "UseDevelopmentEmulator";
}

// What can be wrong with a connection string. parse() and check_connection_string() both work
// from this one list and only word it differently: parse() throws on the first problem the SDKs
// would refuse, check_connection_string() reports them all, plus what the SDKs silently accept.
enum class Fault {
  part_without_equals,  // detail: the part's position
  part_without_key,     // detail: the part's position
  duplicate_key,
  unknown_key,  // detail: the known key it differs from only in case, if any
  empty_value,
  no_endpoint,
  endpoint_unclosed_bracket,
  endpoint_text_after_bracket,
  endpoint_without_host,
  endpoint_bad_port,  // detail: the port as written
  signature_with_key,
  key_without_key_name,
  key_name_without_key,
  signature_not_a_token,
  emulator_not_boolean,
};

struct Problem {
  Fault fault;
  std::string key;
  std::string detail;
};

struct Split {
  std::vector<ConnectionStringPart> parts;
  std::optional<Problem> malformed;
};

Split split(std::string_view text) {
  Split out;
  std::size_t index = 0;
  while (true) {
    std::size_t semicolon = text.find(';');
    std::string_view part = trim(text.substr(0, semicolon));
    if (!part.empty()) {
      ++index;
      // The part itself may be a fragment of a secret, so only its position is kept.
      std::size_t equals = part.find('=');
      if (equals == std::string_view::npos) {
        out.malformed = Problem{Fault::part_without_equals, {}, std::to_string(index)};
        return out;
      }
      std::string_view key = trim(part.substr(0, equals));
      if (key.empty()) {
        out.malformed = Problem{Fault::part_without_key, {}, std::to_string(index)};
        return out;
      }
      out.parts.push_back({std::string(key), std::string(trim(part.substr(equals + 1)))});
    }
    if (semicolon == std::string_view::npos) break;
    text.remove_prefix(semicolon + 1);
  }
  return out;
}

struct Endpoint {
  std::string scheme;
  std::string host;
  std::optional<std::uint16_t> port;
};

// Splits Endpoint into scheme, host and optional port: host up to the first
// '/' or the last ':', IPv6 loopbacks as written or in brackets.
std::optional<Problem> read_endpoint(std::string_view endpoint, Endpoint& out) {
  std::string_view rest = endpoint;
  if (auto sep = rest.find("://"); sep != std::string_view::npos) {
    out.scheme = std::string(rest.substr(0, sep));
    rest.remove_prefix(sep + 3);
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::optional<std::string_view> port_text;
  if (authority == "::1" || authority == "0:0:0:0:0:0:0:1") {
    out.host = std::string(authority);
  } else if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return Problem{Fault::endpoint_unclosed_bracket, {}, {}};
    out.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Problem{Fault::endpoint_text_after_bracket, {}, {}};
      port_text = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    port_text = authority.substr(colon + 1);
  } else {
    out.host = std::string(authority);
  }
  if (out.host.empty()) return Problem{Fault::endpoint_without_host, {}, {}};
  if (port_text) {
    unsigned value = 0;
    auto [end, ec] =
        std::from_chars(port_text->data(), port_text->data() + port_text->size(), value);
    if (port_text->empty() || ec != std::errc() || end != port_text->data() + port_text->size() ||
        value > 65535)
      return Problem{Fault::endpoint_bad_port, {}, std::string(*port_text)};
    out.port = static_cast<std::uint16_t>(value);
  }
  return std::nullopt;
}

// Every problem of well-formed parts, in the order check_connection_string() reports them. Where
// a key is repeated the SDKs keep the last value, and so does this. `endpoint` receives the
// parsed Endpoint when it has no problem.
std::vector<Problem> examine(const std::vector<ConnectionStringPart>& parts, Endpoint& endpoint) {
  std::vector<Problem> problems;
  std::vector<std::string_view> seen;
  auto has = [&](std::string_view key) {
    return std::find(seen.begin(), seen.end(), key) != seen.end();
  };
  auto last_value = [&](std::string_view key) -> std::string_view {
    auto it = std::find_if(parts.rbegin(), parts.rend(),
                           [&](const ConnectionStringPart& p) { return p.key == key; });
    return it == parts.rend() ? std::string_view{} : std::string_view(it->value);
  };
  for (const auto& part : parts) {
    if (has(part.key)) {
      problems.push_back({Fault::duplicate_key, part.key, {}});
      if (part.value.empty()) problems.push_back({Fault::empty_value, part.key, {}});
      continue;
    }
    auto known = std::find(known_keys.begin(), known_keys.end(), part.key);
    if (known == known_keys.end()) {
      auto same_but_case = std::find_if(known_keys.begin(), known_keys.end(),
                                        [&](std::string_view k) { return iequals(k, part.key); });
      problems.push_back({Fault::unknown_key, part.key,
                          same_but_case == known_keys.end() ? "" : std::string(*same_but_case)});
      continue;
    }
    seen.push_back(*known);
    if (part.value.empty()) problems.push_back({Fault::empty_value, part.key, {}});
  }
  if (!has("Endpoint")) {
    problems.push_back({Fault::no_endpoint, "Endpoint", {}});
  } else if (auto value = last_value("Endpoint"); !value.empty()) {
    if (auto problem = read_endpoint(value, endpoint)) problems.push_back(std::move(*problem));
  }
  bool signature = has("SharedAccessSignature");
  bool key = has("SharedAccessKey"), key_name = has("SharedAccessKeyName");
  if (signature && (key || key_name))
    problems.push_back({Fault::signature_with_key, "SharedAccessSignature", {}});
  else if (key && !key_name)
    problems.push_back({Fault::key_without_key_name, "SharedAccessKeyName", {}});
  else if (key_name && !key)
    problems.push_back({Fault::key_name_without_key, "SharedAccessKey", {}});
  for (const auto& part : parts) {
    if (part.key == "SharedAccessSignature" && !part.value.empty() &&
        !part.value.starts_with("SharedAccessSignature "))
      problems.push_back({Fault::signature_not_a_token, part.key, {}});
    if (part.key == "UseDevelopmentEmulator" && part.value != "true" && part.value != "false")
      problems.push_back({Fault::emulator_not_boolean, part.key, {}});
  }
  return problems;
}

// The wording of check_connection_string(): one sentence per problem, naming keys only.
std::string describe(const Problem& p) {
  const std::string cs = "the connection string";
  switch (p.fault) {
    case Fault::part_without_equals:
    case Fault::part_without_key:
      return cs +
             " is malformed: every part must be Key=Value, parts separated by ';' "
             "(Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=...;"
             "SharedAccessKey=...)";
    case Fault::duplicate_key:
      return cs + " names " + p.key + " twice; keep one";
    case Fault::unknown_key:
      return cs + " has an unknown key '" + p.key + "'" +
             (p.detail.empty() ? "; known keys are Endpoint, SharedAccessKeyName, SharedAccessKey, "
                                 "SharedAccessSignature, EntityPath, UseDevelopmentEmulator"
                               : "; keys are case-sensitive: write " + p.detail);
    case Fault::empty_value:
      return cs + "'s " + p.key + " is empty; give it a value";
    case Fault::no_endpoint:
      return cs + " has no Endpoint; add Endpoint=sb://NAMESPACE.servicebus.windows.net/";
    case Fault::endpoint_unclosed_bracket:
      return cs + "'s Endpoint has an unclosed '['; write sb://[ADDRESS]:PORT/";
    case Fault::endpoint_text_after_bracket:
      return cs + "'s Endpoint has text after ']'; write sb://[ADDRESS]:PORT/";
    case Fault::endpoint_without_host:
      return cs + "'s Endpoint has no host name; write sb://HOST/";
    case Fault::endpoint_bad_port:
      return cs + "'s Endpoint has a bad port; use a number 0-65535";
    case Fault::signature_with_key:
      return cs +
             " has both SharedAccessSignature and SharedAccessKey/SharedAccessKeyName; keep one "
             "way of authenticating";
    case Fault::key_without_key_name:
      return cs + " has SharedAccessKey without SharedAccessKeyName; add the key's name";
    case Fault::key_name_without_key:
      return cs + " has SharedAccessKeyName without SharedAccessKey; add the key";
    case Fault::signature_not_a_token:
      return cs +
             "'s SharedAccessSignature must start with 'SharedAccessSignature sr='; paste the "
             "whole token";
    case Fault::emulator_not_boolean:
      return cs + "'s UseDevelopmentEmulator must be true or false";
  }
  return cs + " is not valid";
}

// The wording of parse(), for the problems the SDKs refuse; nullopt for those they accept
// (unknown or repeated keys, an empty EntityPath, UseDevelopmentEmulator=yes).
std::optional<std::string> refusal(const Problem& p, const ConnectionString& cs) {
  const std::string endpoint = "Endpoint '" + cs.endpoint + "'";  // not secret
  switch (p.fault) {
    case Fault::part_without_equals:
      return "part " + p.detail + " has no '='; write Key=Value pairs separated by ';'";
    case Fault::part_without_key:
      return "part " + p.detail + " has an empty key before '='";
    case Fault::no_endpoint:
      return "Endpoint is missing; add Endpoint=sb://<namespace>.servicebus.windows.net/";
    case Fault::empty_value:
      if (p.key == "Endpoint")
        return "Endpoint is missing; add Endpoint=sb://<namespace>.servicebus.windows.net/";
      if (p.key == "SharedAccessSignature")
        return "SharedAccessSignature must hold a token starting with 'SharedAccessSignature sr='";
      if (cs.has_signature()) return std::nullopt;  // refused as signature_with_key instead
      if (p.key == "SharedAccessKeyName")
        return "SharedAccessKeyName is empty; give the name of the shared access policy";
      if (p.key == "SharedAccessKey")
        return "SharedAccessKey is empty; give the key of policy '" + cs.shared_access_key_name +
               "'";
      return std::nullopt;
    case Fault::endpoint_unclosed_bracket:
      return endpoint + " has an unclosed '['";
    case Fault::endpoint_text_after_bracket:
      return endpoint + " has text after ']'";
    case Fault::endpoint_without_host:
      return endpoint + " names no host; write it like sb://<namespace>.servicebus.windows.net/";
    case Fault::endpoint_bad_port:
      return endpoint + " has port '" + p.detail + "'; a port is a number from 0 to 65535";
    case Fault::signature_with_key:
      return "SharedAccessSignature cannot be combined with SharedAccessKeyName/SharedAccessKey; "
             "keep either the signature or the key pair";
    case Fault::key_without_key_name:
    case Fault::key_name_without_key:
      return p.key + " is missing; SharedAccessKeyName and SharedAccessKey go together";
    case Fault::signature_not_a_token:
      return "SharedAccessSignature must hold a token starting with 'SharedAccessSignature sr='";
    case Fault::duplicate_key:
    case Fault::unknown_key:
    case Fault::emulator_not_boolean:
      return std::nullopt;
  }
  return std::nullopt;
}

[[noreturn]] void fail(const std::string& what) {
  throw ConnectionStringError("connection string: " + what);
}

// "Key=value;" for every part, secrets masked.
std::string masked(const std::vector<ConnectionStringPart>& parts) {
  std::string out;
  for (const auto& part : parts) {
    out += part.key;
    out += '=';
    out += is_public_key(part.key) ? part.value : "***";
    out += ';';
  }
  return out;
}

}  // namespace

std::optional<std::vector<ConnectionStringPart>> split_connection_string(std::string_view text) {
  auto result = split(text);
  if (result.malformed) return std::nullopt;
  return std::move(result.parts);
}

std::vector<std::string> check_connection_string(std::string_view text) {
  auto result = split(text);
  if (result.malformed) return {describe(*result.malformed)};
  Endpoint endpoint;
  std::vector<std::string> messages;
  for (const auto& problem : examine(result.parts, endpoint)) messages.push_back(describe(problem));
  return messages;
}

std::string mask_connection_string(std::string_view text) {
  auto parts = split_connection_string(text);
  return parts ? masked(*parts) : "***";
}

ConnectionString ConnectionString::parse(std::string_view text) {
  auto result = split(text);
  ConnectionString cs;
  if (result.malformed) fail(*refusal(*result.malformed, cs));
  for (const auto& [key, value] : result.parts) {
    if (key == "Endpoint")
      cs.endpoint = value;
    else if (key == "SharedAccessKeyName")
      cs.shared_access_key_name = value;
    else if (key == "SharedAccessKey")
      cs.shared_access_key = value;
    else if (key == "SharedAccessSignature")
      cs.shared_access_signature = value;
    else if (key == "EntityPath")
      cs.entity_path = value;
    else if (key == "UseDevelopmentEmulator")
      cs.use_development_emulator = value == "true";
    // Other keys (TransportType, …) are ignored, as the SDKs ignore them.
  }
  Endpoint endpoint;
  for (const auto& problem : examine(result.parts, endpoint))
    if (auto why = refusal(problem, cs)) fail(*why);
  cs.scheme = std::move(endpoint.scheme);
  cs.host = std::move(endpoint.host);
  cs.port = endpoint.port;
  if (!cs.endpoint.ends_with('/')) cs.endpoint += '/';
  return cs;
}

std::uint16_t ConnectionString::effective_port() const {
  if (port) return *port;
  return use_development_emulator ? 5672 : 5671;
}

std::string ConnectionString::audience(std::string_view entity) const {
  return endpoint + std::string(entity);
}

std::string ConnectionString::str() const {
  std::vector<ConnectionStringPart> parts{{"Endpoint", endpoint}};
  auto add = [&](const char* key, const std::string& value) {
    if (!value.empty()) parts.push_back({key, value});
  };
  add("SharedAccessKeyName", shared_access_key_name);
  add("SharedAccessKey", shared_access_key);
  add("SharedAccessSignature", shared_access_signature);
  add("EntityPath", entity_path);
  if (use_development_emulator) parts.push_back({"UseDevelopmentEmulator", "true"});
  std::string out = masked(parts);
  out.pop_back();  // the trailing ';'
  return out;
}

}  // namespace stepline::azure
