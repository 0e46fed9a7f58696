// The worker protocol's wire form, shared by the host side (IsolatedPlugin) and the worker:
// frames of a 4-byte big-endian length followed by that many bytes of UTF-8 JSON, one object per
// frame whose "kind" says what it is (docs/ISOLATION.md lists them).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace stepline::host::isolation {

/// Larger frames are refused: a context this size is a bug, not a workload.
inline constexpr std::uint32_t max_frame_size = 256u << 20;

/// A malformed or unexpected frame; the peer is not trusted after one.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Builds one frame: reserves the length prefix, then the JSON object, then fills the prefix.
class FrameWriter {
 public:
  explicit FrameWriter(std::string_view kind);
  FrameWriter& text(std::string_view key, std::string_view value);
  FrameWriter& integer(std::string_view key, std::int64_t value);
  FrameWriter& boolean(std::string_view key, bool value);
  /// `json` is already JSON text (from the json codec) and is embedded as it is.
  FrameWriter& raw(std::string_view key, std::string_view json);
  /// The finished frame, prefix included.
  std::string finish();

 private:
  void key(std::string_view key);
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

/// The length announced by a frame's 4-byte prefix; throws ProtocolError beyond max_frame_size.
std::uint32_t frame_length(const char prefix[4]);

/// One received frame, parsed.
class Frame {
 public:
  /// Throws ProtocolError when `json` is not an object with a string "kind".
  explicit Frame(std::string json);
  const std::string& kind() const noexcept { return kind_; }
  bool has(const char* key) const;
  /// Throws ProtocolError when the member is missing or of another type.
  std::string text(const char* key) const;
  std::int64_t integer(const char* key) const;
  bool boolean(const char* key, bool fallback = false) const;
  /// The member's JSON text, for the json codec.
  std::string json(const char* key) const;

 private:
  const rapidjson::Value& member(const char* key) const;
  std::string source_;
  rapidjson::Document document_;
  std::string kind_;
};

}  // namespace stepline::host::isolation
