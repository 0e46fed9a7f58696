// Connection strings as a registration or an environment variable gives them: every reader of
// the text either accepts it or refuses it with ConnectionStringError, and no printable form of
// it (the masked text, str(), the problems listed, the error) ever shows a key.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <stepline/azure/connection_string.hpp>

namespace {

// A key that the input does not contain, appended to it as a part of its own, so that each run
// carries a key that must stay hidden.
std::string key_not_in(const std::string& input) {
  for (int n = 0;; ++n) {
    std::string key = "Zq9Xv3Kp7Lm2" + std::to_string(n);
    if (input.find(key) == std::string::npos) return key;
  }
}

void check_hidden(const std::string& shown, const std::string& key, const char* where) {
  if (shown.find(key) == std::string::npos) return;
  std::fprintf(stderr, "%s shows the key %s: %s\n", where, key.c_str(), shown.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stepline::azure;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string key = key_not_in(input);
  const std::string text = input + ";SharedAccessKey=" + key;
  check_hidden(mask_connection_string(text), key, "mask_connection_string");
  for (const auto& problem : check_connection_string(text))
    check_hidden(problem, key, "check_connection_string");
  split_connection_string(text);
  try {
    auto cs = ConnectionString::parse(text);
    check_hidden(cs.str(), key, "ConnectionString::str");
    cs.effective_port();
    cs.audience("queue");
  } catch (const ConnectionStringError& e) {
    check_hidden(e.what(), key, "ConnectionStringError");
  }
  return 0;
}
