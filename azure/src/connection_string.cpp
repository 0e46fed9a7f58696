#include "stepline/azure/connection_string.hpp"

#include <charconv>
#include <vector>

namespace stepline::azure {
namespace {

std::string_view trim(std::string_view s) {
  const char* space = " \t\r\n";
  auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

[[noreturn]] void fail(const std::string& what) {
  throw ConnectionStringError("connection string: " + what);
}

// Splits Endpoint into scheme, host and optional port. The endpoint is not secret, so it may be
// quoted in errors.
void parse_endpoint(ConnectionString& cs, std::string_view endpoint) {
  std::string_view rest = endpoint;
  if (auto sep = rest.find("://"); sep != std::string_view::npos) {
    cs.scheme = std::string(rest.substr(0, sep));
    rest.remove_prefix(sep + 3);
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view port_text;
  if (authority == "::1" || authority == "0:0:0:0:0:0:0:1") {
    cs.host = std::string(authority);
  } else if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      fail("Endpoint '" + std::string(endpoint) + "' has an unclosed '['");
    cs.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') fail("Endpoint '" + std::string(endpoint) + "' has text after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) fail("Endpoint '" + std::string(endpoint) + "' has an empty port");
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    cs.host = std::string(authority.substr(0, colon));
    port_text = authority.substr(colon + 1);
    if (port_text.empty()) fail("Endpoint '" + std::string(endpoint) + "' has an empty port");
  } else {
    cs.host = std::string(authority);
  }
  if (cs.host.empty()) {
    fail("Endpoint '" + std::string(endpoint) +
         "' names no host; write it like sb://<namespace>.servicebus.windows.net/");
  }
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value > 65535) {
      fail("Endpoint '" + std::string(endpoint) + "' has port '" + std::string(port_text) +
           "'; a port is a number from 0 to 65535");
    }
    cs.port = static_cast<std::uint16_t>(value);
  }
}

}  // namespace

ConnectionString ConnectionString::parse(std::string_view text) {
  ConnectionString cs;
  bool have_endpoint = false, have_key_name = false, have_key = false, have_signature = false;
  std::size_t index = 0;
  while (!text.empty()) {
    auto semi = text.find(';');
    std::string_view part = trim(text.substr(0, semi));
    text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
    if (part.empty()) continue;
    ++index;
    auto eq = part.find('=');
    // The part itself may be a fragment of a key, so only its position is reported.
    if (eq == std::string_view::npos) {
      fail("part " + std::to_string(index) + " has no '='; write Key=Value pairs separated by ';'");
    }
    std::string_view key = trim(part.substr(0, eq));
    std::string_view value = trim(part.substr(eq + 1));
    if (key.empty()) fail("part " + std::to_string(index) + " has an empty key before '='");
    if (key == "Endpoint") {
      have_endpoint = true;
      cs.endpoint = std::string(value);
    } else if (key == "SharedAccessKeyName") {
      have_key_name = true;
      cs.shared_access_key_name = std::string(value);
    } else if (key == "SharedAccessKey") {
      have_key = true;
      cs.shared_access_key = std::string(value);
    } else if (key == "SharedAccessSignature") {
      have_signature = true;
      cs.shared_access_signature = std::string(value);
    } else if (key == "EntityPath") {
      cs.entity_path = std::string(value);
    } else if (key == "UseDevelopmentEmulator") {
      cs.use_development_emulator = value == "true";
    }
    // Other keys (TransportType, …) are ignored, as the SDKs ignore them.
  }
  if (!have_endpoint || cs.endpoint.empty()) {
    fail("Endpoint is missing; add Endpoint=sb://<namespace>.servicebus.windows.net/");
  }
  parse_endpoint(cs, cs.endpoint);
  if (cs.endpoint.back() != '/') cs.endpoint += '/';
  if (have_signature && (have_key || have_key_name)) {
    fail(
        "SharedAccessSignature cannot be combined with SharedAccessKeyName/SharedAccessKey; "
        "keep either the signature or the key pair");
  }
  if (have_signature) {
    if (cs.shared_access_signature.rfind("SharedAccessSignature ", 0) != 0) {
      fail("SharedAccessSignature must hold a token starting with 'SharedAccessSignature sr='");
    }
  } else if (have_key_name != have_key) {
    fail(std::string(have_key ? "SharedAccessKeyName" : "SharedAccessKey") +
         " is missing; SharedAccessKeyName and SharedAccessKey go together");
  } else if (have_key && cs.shared_access_key_name.empty()) {
    fail("SharedAccessKeyName is empty; give the name of the shared access policy");
  } else if (have_key && cs.shared_access_key.empty()) {
    fail("SharedAccessKey is empty; give the key of policy '" + cs.shared_access_key_name + "'");
  }
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
  std::string out = "Endpoint=" + endpoint;
  if (!shared_access_key_name.empty()) out += ";SharedAccessKeyName=" + shared_access_key_name;
  if (!shared_access_key.empty()) out += ";SharedAccessKey=***";
  if (!shared_access_signature.empty()) out += ";SharedAccessSignature=***";
  if (!entity_path.empty()) out += ";EntityPath=" + entity_path;
  if (use_development_emulator) out += ";UseDevelopmentEmulator=true";
  return out;
}

}  // namespace stepline::azure
