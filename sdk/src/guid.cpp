#include <stepline/guid.hpp>

#include <cstring>
#include <random>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace stepline {
namespace {

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<Guid> Guid::try_parse(std::string_view text) noexcept {
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') text = text.substr(1, 36);
  if (text.size() != 36) return std::nullopt;
  std::array<std::uint8_t, 16> bytes{};
  std::size_t b = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes[b++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return Guid(bytes);
}

Guid Guid::parse(std::string_view text) {
  if (auto g = try_parse(text)) return *g;
  throw std::invalid_argument("'" + std::string(text) +
                              "' is not a guid (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
}

Guid Guid::random() {
  // 256 bits of seed: seeded with one 32-bit word (std::mt19937_64's constructor), any two of the
  // threads ever started, in any process, would share a sequence of guids with a chance of one in
  // 2^32, likely to have happened once after some 77,000 thread starts.
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seeds{device(), device(), device(), device(),
                        device(), device(), device(), device()};
    return std::mt19937_64(seeds);
  }();
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < 16; i += 8) {
    std::uint64_t r = engine();
    for (std::size_t j = 0; j < 8; ++j) bytes[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return Guid(bytes);
}

#if !defined(__SSE2__)
namespace {

/// "000102…feff": each byte's two lower-case hex digits.
constexpr std::array<char, 512> hex_pairs = [] {
  constexpr char digits[] = "0123456789abcdef";
  std::array<char, 512> pairs{};
  for (std::size_t b = 0; b < 256; ++b) {
    pairs[2 * b] = digits[b >> 4];
    pairs[2 * b + 1] = digits[b & 0x0f];
  }
  return pairs;
}();

}  // namespace
#endif

Guid::Text Guid::text() const noexcept {
  Text out;
  out.chars[8] = out.chars[13] = out.chars[18] = out.chars[23] = '-';
#if defined(__SSE2__)
  // All 32 digits at once: each byte's high and low nibbles side by side, each nibble plus '0',
  // and plus 'a' - '0' - 10 more where it is above 9; then the runs of 8-4-4-4-12.
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes_.data()));
  const __m128i low_nibble = _mm_set1_epi8(0x0f);
  const __m128i high = _mm_and_si128(_mm_srli_epi16(x, 4), low_nibble);
  const __m128i low = _mm_and_si128(x, low_nibble);
  auto digits = [](__m128i n) {
    const __m128i letter =
        _mm_and_si128(_mm_cmpgt_epi8(n, _mm_set1_epi8(9)), _mm_set1_epi8('a' - '0' - 10));
    return _mm_add_epi8(_mm_add_epi8(n, _mm_set1_epi8('0')), letter);
  };
  char hex[32];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(hex), digits(_mm_unpacklo_epi8(high, low)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(hex + 16), digits(_mm_unpackhi_epi8(high, low)));
  std::memcpy(out.chars, hex, 8);
  std::memcpy(out.chars + 9, hex + 8, 4);
  std::memcpy(out.chars + 14, hex + 12, 4);
  std::memcpy(out.chars + 19, hex + 16, 4);
  std::memcpy(out.chars + 24, hex + 20, 12);
#else
  // Where each byte's two digits go in 8-4-4-4-12.
  static constexpr std::uint8_t at[16] = {0,  2,  4,  6,  9,  11, 14, 16,
                                          19, 21, 24, 26, 28, 30, 32, 34};
  for (std::size_t i = 0; i < 16; ++i)
    std::memcpy(out.chars + at[i], &hex_pairs[2u * bytes_[i]], 2);
#endif
  return out;
}

std::string Guid::str() const {
  return std::string(text().view());
}

}  // namespace stepline

std::size_t std::hash<stepline::Guid>::operator()(const stepline::Guid& g) const noexcept {
  std::size_t h = 1469598103934665603ull;
  for (auto b : g.bytes()) h = (h ^ b) * 1099511628211ull;
  return h;
}
