#include <stepline/format/claim_check.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stepline/format/format_error.hpp>
#include <stepline/text.hpp>

#include "json_codec.hpp"

namespace stepline::format {
namespace {

constexpr std::string_view reference_key = "\"stepline.claim_check\"";

std::string text_field(const rapidjson::Value& reference, const char* name) {
  auto it = reference.FindMember(name);
  if (it == reference.MemberEnd() || !it->value.IsString())
    throw FormatError(std::string("stepline.claim_check.") + name, "expected a string");
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

bool is_format_name(std::string_view text) {
  return !text.empty() && text.size() <= 64 &&
         text.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-._") == std::string_view::npos;
}

bool is_hex_digest(std::string_view text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

bool operator==(const ClaimCheck& a, const ClaimCheck& b) {
  return a.url == b.url && a.size == b.size && a.content_type == b.content_type &&
         a.format == b.format && a.sha256 == b.sha256 && a.delete_after_read == b.delete_after_read;
}

ClaimCheckSource::~ClaimCheckSource() = default;

bool is_claim_check(std::string_view body) noexcept {
  body = text::trim_start(body);
  if (!body.starts_with('{')) return false;
  return text::trim_start(body.substr(1)).starts_with(reference_key);
}

std::string write_claim_check(const ClaimCheck& r) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key(reference_key.data() + 1, static_cast<rapidjson::SizeType>(reference_key.size() - 2));
  w.StartObject();
  w.Key("url");
  w.String(r.url.c_str(), static_cast<rapidjson::SizeType>(r.url.size()));
  w.Key("size");
  w.Uint64(r.size);
  w.Key("contentType");
  w.String(r.content_type.c_str(), static_cast<rapidjson::SizeType>(r.content_type.size()));
  w.Key("format");
  w.String(r.format.c_str(), static_cast<rapidjson::SizeType>(r.format.size()));
  w.Key("sha256");
  w.String(r.sha256.c_str(), static_cast<rapidjson::SizeType>(r.sha256.size()));
  w.Key("deleteAfterRead");
  w.Bool(r.delete_after_read);
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<ClaimCheck> read_claim_check(std::string_view body) {
  if (!is_claim_check(body)) return std::nullopt;
  rapidjson::Document document;
  detail::parse_json(body, document);
  const auto& reference = document["stepline.claim_check"];
  if (!reference.IsObject()) throw FormatError("stepline.claim_check", "expected an object");
  ClaimCheck out;
  out.url = text_field(reference, "url");
  if (!out.url.starts_with("https://") && !out.url.starts_with("http://"))
    throw FormatError("stepline.claim_check.url", "expected an http(s) URL");
  auto size = reference.FindMember("size");
  if (size == reference.MemberEnd() || !size->value.IsUint64())
    throw FormatError("stepline.claim_check.size", "expected a whole number of bytes");
  out.size = size->value.GetUint64();
  out.content_type = text_field(reference, "contentType");
  out.format = text_field(reference, "format");
  // Which formats there are depends on the libraries the reader loaded (binary comes with
  // stepline_sdk_amqp); the parser names the registered ones when it meets an unknown name.
  if (!is_format_name(out.format))
    throw FormatError("stepline.claim_check.format",
                      "expected a format's name, such as dataverse-json, json or binary");
  out.sha256 = text_field(reference, "sha256");
  if (!is_hex_digest(out.sha256))
    throw FormatError("stepline.claim_check.sha256", "expected 64 lower-case hex digits");
  auto remove = reference.FindMember("deleteAfterRead");
  if (remove != reference.MemberEnd()) {
    if (!remove->value.IsBool())
      throw FormatError("stepline.claim_check.deleteAfterRead", "expected true or false");
    out.delete_after_read = remove->value.GetBool();
  }
  return out;
}

}  // namespace stepline::format
