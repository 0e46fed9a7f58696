#include "protocol.hpp"

#include <stepline/format/format.hpp>

#include "untrusted_json.hpp"

namespace stepline::host::isolation {

FrameWriter::FrameWriter(std::string_view kind) : writer_(buffer_) {
  // The prefix's room: four placeholder bytes the finished frame overwrites.
  buffer_.Push(4);
  writer_.StartObject();
  text("kind", kind);
}

void FrameWriter::key(std::string_view key) {
  writer_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

FrameWriter& FrameWriter::text(std::string_view k, std::string_view value) {
  key(k);
  writer_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  return *this;
}

FrameWriter& FrameWriter::integer(std::string_view k, std::int64_t value) {
  key(k);
  writer_.Int64(value);
  return *this;
}

FrameWriter& FrameWriter::boolean(std::string_view k, bool value) {
  key(k);
  writer_.Bool(value);
  return *this;
}

FrameWriter& FrameWriter::raw(std::string_view k, std::string_view json) {
  key(k);
  writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  return *this;
}

std::string FrameWriter::finish() {
  writer_.EndObject();
  std::string out(buffer_.GetString(), buffer_.GetSize());
  const std::size_t length = out.size() - 4;
  if (length > max_frame_size)
    throw ProtocolError("a frame of " + std::to_string(length) + " bytes exceeds the limit of " +
                        std::to_string(max_frame_size));
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((length >> (8 * (3 - i))) & 0xff);
  return out;
}

std::uint32_t frame_length(const char prefix[4]) {
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(prefix[i]);
  if (n > max_frame_size)
    throw ProtocolError("a frame announces " + std::to_string(n) +
                        " bytes, more than the limit of " + std::to_string(max_frame_size));
  return n;
}

Frame::Frame(std::string json) : source_(std::move(json)) {
  try {
    // A frame is an object around a context at most.
    input::read_json_document(source_, document_, format::max_nesting + 1);
  } catch (const format::FormatError& e) {
    throw ProtocolError(std::string("a frame is not JSON: ") + e.what());
  }
  if (!document_.IsObject()) throw ProtocolError("a frame is not a JSON object");
  kind_ = text("kind");
}

bool Frame::has(const char* key) const {
  auto it = document_.FindMember(key);
  return it != document_.MemberEnd() && !it->value.IsNull();
}

const rapidjson::Value& Frame::member(const char* key) const {
  auto it = document_.FindMember(key);
  if (it == document_.MemberEnd())
    throw ProtocolError("a '" + kind_ + "' frame lacks \"" + key + "\"");
  return it->value;
}

std::string Frame::text(const char* key) const {
  const auto& v = member(key);
  if (!v.IsString()) throw ProtocolError(std::string("\"") + key + "\" is not a string");
  return {v.GetString(), v.GetStringLength()};
}

std::int64_t Frame::integer(const char* key) const {
  const auto& v = member(key);
  if (!v.IsInt64()) throw ProtocolError(std::string("\"") + key + "\" is not an integer");
  return v.GetInt64();
}

bool Frame::boolean(const char* key, bool fallback) const {
  auto it = document_.FindMember(key);
  if (it == document_.MemberEnd() || !it->value.IsBool()) return fallback;
  return it->value.GetBool();
}

std::string Frame::json(const char* key) const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  member(key).Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace stepline::host::isolation
