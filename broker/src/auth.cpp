#include "auth.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <stepline/azure/sas_token.hpp>

#include "queue.hpp"

namespace stepline::broker {

Authority::Authority(std::vector<SasPolicy> policies) : policies_(std::move(policies)) {}

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
