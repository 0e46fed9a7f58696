// The RapidJSON-level pieces of the `json` format, shared by the formats that embed it
// (cloudevents carries the json context as its data). Private to the SDK: RapidJSON types never
// appear in public headers.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/entity.hpp>
#include <stepline/execution_context.hpp>

#include "path.hpp"

namespace stepline::format::detail {

/// RapidJSON's writer, and a string written whole when it needs no escape (names, ids, dates and
/// most text), rather than character by character through the escape table.
class JsonWriter : public rapidjson::Writer<rapidjson::StringBuffer> {
 public:
  using Writer::Writer;

  /// The string as String() (or Key(), where an object expects a key) writes it.
  bool Text(std::string_view s) {
    if (needs_escape(s)) return String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    // What Prefix() does, with the separator it writes pushed with the string.
    char separator = 0;
    if (level_stack_.GetSize() != 0) {
      Level* level = level_stack_.template Top<Level>();
      if (level->valueCount > 0)
        separator = level->inArray || level->valueCount % 2 == 0 ? ',' : ':';
      ++level->valueCount;
    } else {
      hasRoot_ = true;
    }
    const std::size_t with = separator != 0 ? 1 : 0;
    char* out = os_->Push(s.size() + 2 + with);
    out[0] = separator;  // overwritten by the quote when there is none
    out[with] = '"';
    if (!s.empty()) std::memcpy(out + with + 1, s.data(), s.size());
    out[with + s.size() + 1] = '"';
    return EndValue(true);
  }

  /// True when `s` holds a quote, a backslash or a control character: sixteen bytes at a time
  /// with SSE2 (every x86-64 has it), else eight at a time in a 64-bit word. Bytes at or above
  /// 0x80 never count.
  static bool needs_escape(std::string_view s) {
    const char* p = s.data();
    std::size_t n = s.size();
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                  below_space = _mm_set1_epi8(0x1f);
    for (; n >= 16; p += 16, n -= 16) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      // A byte is a control character when its unsigned minimum with 0x1f is itself.
      const __m128i found =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                       _mm_cmpeq_epi8(_mm_min_epu8(x, below_space), x));
      if (_mm_movemask_epi8(found) != 0) return true;
    }
#endif
    for (; n >= 8; p += 8, n -= 8)
      if (word_needs_escape(load8(p))) return true;
    if (n == 0) return false;
    // The last few bytes: the string's last eight when it has eight (bytes looked at twice are
    // harmless), else the bytes themselves with spaces after them.
    if (s.size() >= 8) return word_needs_escape(load8(s.data() + s.size() - 8));
    std::uint64_t x = ones * ' ';
    std::memcpy(&x, p, n);
    return word_needs_escape(x);
  }

 private:
  static constexpr std::uint64_t ones = 0x0101010101010101ull;

  static std::uint64_t load8(const char* p) {
    std::uint64_t x;
    std::memcpy(&x, p, 8);
    return x;
  }

  /// True when one of the eight bytes in `x` is a quote, a backslash or below 0x20: such a byte
  /// b makes (b - 0x20) & ~b (or the same of b ^ '"', b ^ '\\' less one) set its high bit.
  static bool word_needs_escape(std::uint64_t x) {
    constexpr std::uint64_t high = 0x8080808080808080ull;
    const std::uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
    const std::uint64_t found =
        ((x - ones * 0x20) & ~x) | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash);
    return (found & high) != 0;
  }
};

/// A writer and its buffer, kept by each thread from one document to the next (write_json).
struct JsonScratch {
  rapidjson::StringBuffer buffer{nullptr, 4096};
  JsonWriter writer{buffer};
  bool busy = false;  ///< a document is being written with it
};

/// This thread's JsonScratch.
JsonScratch& json_scratch();

/// The JSON text that `write(JsonWriter&)` writes, with this thread's writer and buffer, which
/// keep their room (the buffer's up to 1 MiB), so the only allocation is the returned string's.
/// A document written while another is (by `write`) gets a writer of its own.
template <class Write>
std::string write_json(Write&& write) {
  JsonScratch& scratch = json_scratch();
  if (scratch.busy) {
    rapidjson::StringBuffer own;
    JsonWriter w(own);
    write(w);
    return std::string(own.GetString(), own.GetSize());
  }
  scratch.busy = true;
  struct Done {
    JsonScratch& scratch;
    ~Done() {
      scratch.busy = false;
      if (scratch.buffer.GetSize() > (std::size_t{1} << 20))
        scratch.buffer = rapidjson::StringBuffer(nullptr, 4096);
    }
  } done{scratch};
  scratch.buffer.Clear();
  scratch.writer.Reset(scratch.buffer);
  write(scratch.writer);
  return std::string(scratch.buffer.GetString(), scratch.buffer.GetSize());
}

/// Parses `text` into `document`; a syntax error throws FormatError naming line and column.
void parse_json(std::string_view text, rapidjson::Document& document);

/// Short description of a JSON node's type for error messages ("a string", "an array").
const char* describe(const rapidjson::Value& node);

void write_json_value(JsonWriter& w, const Value& value);
void write_json_entity(JsonWriter& w, const Entity& entity, bool with_type);
void write_json_parameters(JsonWriter& w, const ParameterCollection& parameters);
void write_json_context(JsonWriter& w, const ExecutionContext& context);

Value read_json_value(const rapidjson::Value& node, const Path& path);
Entity read_json_entity(const rapidjson::Value& node, const Path& path);
ParameterCollection read_json_parameters(const rapidjson::Value& node, const Path& path);
ExecutionContext read_json_context(const rapidjson::Value& node, const Path& path);

}  // namespace stepline::format::detail
