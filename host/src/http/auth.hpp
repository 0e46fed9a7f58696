// Who is calling: the API key in `Authorization: Bearer …` checked against the registration's
// keys in constant time, and whether that key may act as another user (MSCRMCallerID).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/guid.hpp>
#include <stepline/registration/model.hpp>

namespace stepline::host::http {

struct Caller {
  std::string key_name;  ///< the API key's name; empty when the intake has no keys
  Guid user;             ///< the key's user
  bool may_impersonate = false;
};

class ApiKeys {
 public:
  explicit ApiKeys(const registration::Registration& registration);

  /// The caller the Authorization header names, or nullopt for a missing, malformed or unknown
  /// key (which of the three is not told). Without keys registered, every request is the
  /// default user, who may impersonate (only this machine can reach such an intake).
  std::optional<Caller> authenticate(std::string_view authorization) const;
  bool required() const { return !keys_.empty(); }

 private:
  struct Key {
    std::array<unsigned char, 32> digest;
    Caller caller;
  };
  std::vector<Key> keys_;
  Guid default_user_;
};

}  // namespace stepline::host::http
