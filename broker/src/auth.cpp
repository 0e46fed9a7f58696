#include "auth.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <proton/sasl_plugin.h>
#include <stepline/azure/sas_token.hpp>

#include "queue.hpp"

namespace stepline::broker {
namespace {

const Authority* installed = nullptr;

// Server side of Proton's SASL plug-in interface. The built-in implementation (without Cyrus)
// offers no PLAIN on the server side, and Cyrus would check passwords against sasldb, not the
// broker's policies.
const char* list_mechanisms(pn_transport_t*) {
  return "PLAIN ANONYMOUS";
}

bool init_server(pn_transport_t* t) {
  pnx_sasl_set_desired_state(t, SASL_POSTED_MECHANISMS);
  return true;
}

bool init_client(pn_transport_t*) {
  return false;
}
void prepare_write(pn_transport_t*) {}

void process_init(pn_transport_t* t, const char* mechanism, const pn_bytes_t* recv) {
  // Proton keeps the user name pointer: pass storage that outlives the transport.
  const char* user = nullptr;
  if (std::strcmp(mechanism, "ANONYMOUS") == 0) {
    user = "anonymous";
  } else if (std::strcmp(mechanism, "PLAIN") == 0 && recv && installed) {
    // authzid NUL authcid NUL password
    std::string s(recv->start, recv->size);
    size_t a = s.find('\0');
    size_t b = a == std::string::npos ? a : s.find('\0', a + 1);
    if (b != std::string::npos) {
      const SasPolicy* p = installed->login(s.substr(a + 1, b - a - 1), s.substr(b + 1));
      if (p && p->name != "anonymous") user = p->name.c_str();
    }
  }
  if (user)
    pnx_sasl_set_succeeded(t, user, nullptr);
  else
    pnx_sasl_set_failed(t);
  pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
}

void process_response(pn_transport_t* t, const pn_bytes_t*) {
  pnx_sasl_set_failed(t);
  pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
}

bool process_mechanisms(pn_transport_t*, const char*) {
  return false;
}
void process_challenge(pn_transport_t*, const pn_bytes_t*) {}
void process_outcome(pn_transport_t*, const pn_bytes_t*) {}
void free_impl(pn_transport_t*) {}
bool can_encrypt(pn_transport_t*) {
  return false;
}
ssize_t max_encrypt_size(pn_transport_t*) {
  return 0;
}
ssize_t no_codec(pn_transport_t*, pn_bytes_t, pn_bytes_t*) {
  return 0;
}

const pnx_sasl_implementation broker_sasl = {
    free_impl,    list_mechanisms,  init_server,        init_client,       prepare_write,
    process_init, process_response, process_mechanisms, process_challenge, process_outcome,
    can_encrypt,  max_encrypt_size, no_codec,           no_codec};

}  // namespace

Authority::Authority(std::vector<SasPolicy> policies) : policies_(std::move(policies)) {}

void Authority::install_sasl() const {
  installed = this;
  pnx_sasl_set_default_implementation(&broker_sasl);
}

const SasPolicy* Authority::policy(const std::string& name) const {
  for (const auto& p : policies_)
    if (p.name == name) return &p;
  return nullptr;
}

const SasPolicy* Authority::login(const std::string& user, const std::string& password) const {
  const SasPolicy* p = policy(user);
  // constant-time compare: the password is a key
  if (!p || p->key.size() != password.size()) return nullptr;
  unsigned char diff = 0;
  for (size_t i = 0; i < password.size(); ++i)
    diff |= static_cast<unsigned char>(p->key[i] ^ password[i]);
  return diff == 0 ? p : nullptr;
}

std::string audience_path(const std::string& audience) {
  std::string s = audience;
  if (auto scheme = s.find("://"); scheme != std::string::npos) {
    auto slash = s.find('/', scheme + 3);
    s = slash == std::string::npos ? std::string() : s.substr(slash);
  }
  while (!s.empty() && s.front() == '/') s.erase(0, 1);
  while (!s.empty() && s.back() == '/') s.pop_back();
  return entity_key(s);
}

bool covers(const std::string& grant_path, const std::string& entity_path) {
  if (grant_path.empty()) return true;
  if (entity_path.size() < grant_path.size()) return false;
  if (entity_path.compare(0, grant_path.size(), grant_path) != 0) return false;
  return entity_path.size() == grant_path.size() || entity_path[grant_path.size()] == '/';
}

bool allowed(const std::vector<Grant>& grants, const std::string& entity_path, Need need,
             int64_t now_ms) {
  return std::any_of(grants.begin(), grants.end(), [&](const Grant& g) {
    if (g.expires_ms && g.expires_ms <= now_ms) return false;
    if (!covers(g.path, entity_path)) return false;
    switch (need) {
      case Need::send:
        return g.rights.send || g.rights.manage;
      case Need::listen:
        return g.rights.listen || g.rights.manage;
      case Need::any:
        return true;
    }
    return false;
  });
}

}  // namespace stepline::broker

namespace stepline::broker {

std::variant<Grant, std::string> Authority::verify_token(const std::string& token,
                                                         const std::string& audience,
                                                         int64_t now_ms) const {
  auto keys = [this](std::string_view name) -> std::optional<std::string> {
    if (const SasPolicy* p = policy(std::string(name))) return p->key;
    return std::nullopt;
  };
  auto now = azure::SystemTime(std::chrono::milliseconds(now_ms));
  azure::SasVerification v = azure::verify_sas_token(token, keys, audience, now);
  if (!v) return v.reason;
  const SasPolicy* p = policy(v.key_name);
  if (!p) return std::string("unknown shared access policy");
  Grant g;
  g.path = audience_path(audience);
  g.rights = Rights{p->send, p->listen, p->manage};
  g.expires_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     azure::SasToken::parse(token).expiry.time_since_epoch())
                     .count();
  return g;
}

}  // namespace stepline::broker
