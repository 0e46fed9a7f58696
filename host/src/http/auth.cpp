#include "auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <stepline/text.hpp>

namespace stepline::host::http {
namespace {

std::array<unsigned char, 32> digest_of(std::string_view text) {
  std::array<unsigned char, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
  return out;
}

}  // namespace

ApiKeys::ApiKeys(const registration::Registration& r) : default_user_(r.host.default_user_id) {
  for (const auto& k : r.http.api_keys)
    keys_.push_back({digest_of(k.key), Caller{k.name, k.user, k.may_impersonate}});
}

std::optional<Caller> ApiKeys::authenticate(std::string_view authorization) const {
  if (keys_.empty()) return Caller{{}, default_user_, true};
  // Digests have one length whatever was sent, and every key is compared in full, so the time
  // taken says nothing about how much of a key was right or which key was near.
  std::string_view token;
  if (authorization.size() > 7 &&
      text::iequals(authorization.substr(0, 7), "Bearer "))
    token = text::trim(authorization.substr(7));
  auto presented = digest_of(token);
  const Key* found = nullptr;
  for (const auto& k : keys_)
    if (CRYPTO_memcmp(k.digest.data(), presented.data(), presented.size()) == 0) found = &k;
  if (!found || token.empty()) return std::nullopt;
  return found->caller;
}

}  // namespace stepline::host::http
