// The RapidJSON-level pieces of the `json` format, shared by the formats that embed it
// (cloudevents carries the json context as its data). Private to the SDK: RapidJSON types never
// appear in public headers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <rapidjson/document.h>
#include <rapidjson/internal/dtoa.h>
#include <rapidjson/internal/itoa.h>

#include <stepline/entity.hpp>
#include <stepline/execution_context.hpp>

#include "path.hpp"

namespace stepline::format::detail {

/// Writes compact JSON, byte for byte as RapidJSON's `Writer` does (the same separators, escapes
/// and number forms; the tests compare the two), with less work a value: a string that needs no
/// escape (names, ids, dates and most text) is copied whole.
class JsonWriter {
  struct Level {
    bool array;
    std::uint32_t count;  ///< values written in it (an object's keys count as values)
  };

 public:
  /// Where a writer writes: its text, and the objects and arrays it is in.
  struct Storage {
    std::string text;
    std::vector<Level> levels;
  };

  /// Writes over the bytes of `storage` from its start, growing it when they run out
  /// (write_json keeps one per thread, so a document costs no allocation of its own); text() is
  /// what was written.
  explicit JsonWriter(Storage& storage) : out_(storage.text), levels_(storage.levels) {
    if (out_.size() < 256) out_.resize(256);
    levels_.clear();
  }

  void StartObject() { open('{', false); }
  void EndObject() { close('}'); }
  void StartArray() { open('[', true); }
  void EndArray() { close(']'); }
  void Key(std::string_view key) { Text(key); }
  void String(std::string_view s) { Text(s); }
  void Null() { literal("null", 4); }
  void Bool(bool b) { b ? literal("true", 4) : literal("false", 5); }
  void Int(int n) {
    prefix();
    char* at = room(11);
    pos_ += static_cast<std::size_t>(rapidjson::internal::i32toa(n, at) - at);
  }
  /// A finite number, in RapidJSON's shortest form ("2.0", "1e-7"); JSON has no NaN or infinity,
  /// so callers write those otherwise.
  void Double(double d) {
    prefix();
    char* at = room(25);
    pos_ += static_cast<std::size_t>(rapidjson::internal::dtoa(d, at) - at);
  }

  /// The string as a value, or as a key where an object expects one.
  void Text(std::string_view s) {
    prefix();
    if (needs_escape(s)) return escaped(s);
    char* at = room(s.size() + 2);
    at[0] = '"';
    if (!s.empty()) std::memcpy(at + 1, s.data(), s.size());
    at[s.size() + 1] = '"';
    pos_ += s.size() + 2;
  }

  /// The text written so far, in the storage given at the start.
  std::string_view text() const { return {out_.data(), pos_}; }

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
    // A byte of x is zero, or below 0x20, where (x - 0x01…) & ~x (or (x - 0x20…) & ~x) has its
    // high bit set.
    constexpr std::uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    for (; n >= 8; p += 8, n -= 8) {
      std::uint64_t x;
      std::memcpy(&x, p, 8);
      const std::uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
      const std::uint64_t found = ((x - ones * 0x20) & ~x) | ((quote - ones) & ~quote) |
                                  ((backslash - ones) & ~backslash);
      if (found & high) return true;
    }
    for (; n > 0; ++p, --n) {
      const auto c = static_cast<unsigned char>(*p);
      if (c < 0x20 || c == '"' || c == '\\') return true;
    }
    return false;
  }

 private:
  /// Before a value: a comma after an earlier value, a colon between a key and its value.
  void prefix() {
    if (levels_.empty()) return;
    Level& level = levels_.back();
    if (level.count > 0) {
      char* at = room(1);
      *at = level.array || level.count % 2 == 0 ? ',' : ':';
      ++pos_;
    }
    ++level.count;
  }

  void open(char bracket, bool array) {
    prefix();
    *room(1) = bracket;
    ++pos_;
    levels_.push_back({array, 0});
  }

  void close(char bracket) {
    levels_.pop_back();
    *room(1) = bracket;
    ++pos_;
  }

  void literal(const char* text, std::size_t size) {
    prefix();
    std::memcpy(room(size), text, size);
    pos_ += size;
  }

  /// A string with characters JSON escapes: \b \t \n \f \r, \" and \\, and \u00XX for the
  /// other control characters; every other byte as it is.
  void escaped(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    char* at = room(2 + s.size() * 6);
    char* p = at;
    *p++ = '"';
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c >= 0x20 && c != '"' && c != '\\') {
        *p++ = ch;
        continue;
      }
      *p++ = '\\';
      switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\b': *p++ = 'b'; break;
        case '\t': *p++ = 't'; break;
        case '\n': *p++ = 'n'; break;
        case '\f': *p++ = 'f'; break;
        case '\r': *p++ = 'r'; break;
        default:
          *p++ = 'u';
          *p++ = '0';
          *p++ = '0';
          *p++ = hex[c >> 4];
          *p++ = hex[c & 15];
      }
    }
    *p++ = '"';
    pos_ += static_cast<std::size_t>(p - at);
  }

  /// Room for `n` more bytes at the end of the text; grows the string by half again at least.
  char* room(std::size_t n) {
    if (out_.size() - pos_ < n) out_.resize(std::max(out_.size() + out_.size() / 2, pos_ + n));
    return out_.data() + pos_;
  }

  std::string& out_;
  std::size_t pos_ = 0;
  std::vector<Level>& levels_;
};

/// The JSON text that `write(JsonWriter&)` writes. It is written into this thread's scratch
/// storage, which keeps its room from one document to the next (up to 1 MiB), so the only
/// allocation is the returned string's. A document written while another is (by `write`) gets
/// storage of its own.
template <class Write>
std::string write_json(Write&& write) {
  thread_local JsonWriter::Storage scratch;
  thread_local bool busy = false;
  if (busy) {
    JsonWriter::Storage own;
    JsonWriter w(own);
    write(w);
    return std::string(w.text());
  }
  busy = true;
  struct Done {
    ~Done() {
      busy = false;
      if (scratch.text.size() > (std::size_t{1} << 20)) std::string().swap(scratch.text);
    }
  } done;
  JsonWriter w(scratch);
  write(w);
  return std::string(w.text());
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
