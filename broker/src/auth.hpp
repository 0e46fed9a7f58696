// Who may do what: SASL (PLAIN checked against the SAS policies, ANONYMOUS, or none at all),
// SAS tokens from $cbs put-token, and the rights a link attach needs.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "config.hpp"

struct pn_transport_t;

namespace stepline::broker {

struct Rights {
  bool send = false;
  bool listen = false;
  bool manage = false;
};

/// What one valid token (or a PLAIN login) allows: an entity path prefix and rights.
struct Grant {
  std::string path;  ///< lower-case entity path; empty = the whole namespace
  Rights rights;
  int64_t expires_ms = 0;  ///< 0 = never (PLAIN login)
};

enum class Need { send, listen, any };

class Authority {
 public:
  explicit Authority(std::vector<SasPolicy> policies);

  /// Makes a server transport use the broker's SASL: PLAIN with the SAS policy name and key,
  /// or ANONYMOUS (sasl_plain.cpp). Call after pn_sasl(t); the Authority must outlive `t`.
  void use_sasl(pn_transport_t* t) const;

  /// PLAIN: the policy named `user` whose key is `password`, or null.
  const SasPolicy* login(const std::string& user, const std::string& password) const;
  const SasPolicy* policy(const std::string& name) const;

  /// Checks a SAS token for `audience` (a URI such as sb://host/orders) with the shared azure
  /// library: signature by a policy key, expiry, resource covering the audience. Returns the
  /// Grant for the audience with the policy's rights, or why the token was refused.
  std::variant<Grant, std::string> verify_token(const std::string& token,
                                                const std::string& audience, int64_t now_ms) const;

 private:
  std::vector<SasPolicy> policies_;
};

/// The entity path of an audience or address: scheme and host removed, lower-case, no slashes
/// at either end ("sb://localhost:5672/Orders/" → "orders").
std::string audience_path(const std::string& audience);
/// True when a grant for `grant_path` covers the entity at `entity_path` (same path or a parent).
bool covers(const std::string& grant_path, const std::string& entity_path);
/// True when any unexpired grant covers `entity_path` with the rights `need` asks for.
bool allowed(const std::vector<Grant>& grants, const std::string& entity_path, Need need,
             int64_t now_ms);

}  // namespace stepline::broker
