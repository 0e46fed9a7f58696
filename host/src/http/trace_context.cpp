#include "trace_context.hpp"

#include <stepline/text.hpp>

#include <random>

namespace stepline::host::http {
namespace {

bool lower_hex(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool all_zero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

/// `bytes` random bytes as lower-case hex, never all zero.
std::string random_hex(int bytes) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  do {
    out.clear();
    for (int i = 0; i < bytes; i += 8) {
      auto word = random();
      for (int k = 0; k < 8 && i + k < bytes; ++k, word >>= 8) {
        out += digits[(word >> 4) & 0xf];
        out += digits[word & 0xf];
      }
    }
  } while (all_zero(out));
  return out;
}

}  // namespace

bool valid_trace_parent(std::string_view t) {
  if (t.size() < 55 || t[2] != '-' || t[35] != '-' || t[52] != '-') return false;
  auto version = t.substr(0, 2), trace = t.substr(3, 32), parent = t.substr(36, 16),
       flags = t.substr(53, 2);
  if (!lower_hex(version) || version == "ff" || !lower_hex(trace) || !lower_hex(parent) ||
      !lower_hex(flags) || all_zero(trace) || all_zero(parent))
    return false;
  if (version == "00") return t.size() == 55;
  return t.size() == 55 || t[55] == '-';
}

std::string operation_trace_parent(std::string_view incoming) {
  incoming = text::trim(incoming);
  if (valid_trace_parent(incoming))
    return "00-" + std::string(incoming.substr(3, 32)) + "-" + random_hex(8) + "-" +
           std::string(incoming.substr(53, 2));
  return "00-" + random_hex(16) + "-" + random_hex(8) + "-01";
}

}  // namespace stepline::host::http
