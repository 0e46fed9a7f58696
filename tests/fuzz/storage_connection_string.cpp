// Azure Storage connection strings as a claim_check block or a listener's environment gives
// them: every reader of the text either accepts it or refuses it with ConnectionStringError, and
// no printable form of it (the masked text, str(), the problems listed, the error) ever shows the
// account key or the shared access signature.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <stepline/azure/blob_request.hpp>
#include <stepline/azure/storage_connection_string.hpp>

namespace {

// A key (valid base64, so that parsing gets past it) and a signature that the input does not
// contain, appended to it as parts of their own, so that each run carries secrets that must stay
// hidden.
std::string secret_not_in(const std::string& input, const char* stem) {
  for (int n = 1000;; ++n) {
    std::string secret = stem + std::to_string(n);
    if (input.find(secret) == std::string::npos) return secret;
  }
}

void check_hidden(const std::string& shown, const std::string& secret, const char* where) {
  if (shown.find(secret) == std::string::npos) return;
  std::fprintf(stderr, "%s shows the secret %s: %s\n", where, secret.c_str(), shown.c_str());
  std::abort();
}

void check(const std::string& text, const std::string& secret) {
  using namespace stepline::azure;
  check_hidden(mask_storage_connection_string(text), secret, "mask_storage_connection_string");
  for (const auto& problem : check_storage_connection_string(text))
    check_hidden(problem, secret, "check_storage_connection_string");
  try {
    auto account = StorageConnectionString::parse(text);
    check_hidden(account.str(), secret, "StorageConnectionString::str");
    // What the host and the listeners do with a parsed account.
    blob::blob_url(account, "stepline-claims", "orders/x");
    blob::is_blob_of(account, account.blob_endpoint + "/stepline-claims/orders/x");
  } catch (const ConnectionStringError& e) {
    check_hidden(e.what(), secret, "ConnectionStringError");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string key = secret_not_in(input, "Zq9Xv3Kp7Lm2");  // 16 characters of base64
  check(input + ";AccountKey=" + key, key);
  const std::string signature = secret_not_in(input, "sig=Hq4Wt8Rn");
  check(input + ";SharedAccessSignature=sv=2022-11-02&" + signature, signature);
  return 0;
}
