#include <stepline/format/format.hpp>

#include <stdexcept>

#include <stepline/format/cloudevents.hpp>
#include <stepline/format/dataverse_json.hpp>
#include <stepline/format/json.hpp>
#include <stepline/format/xml.hpp>

namespace stepline::format {
namespace {

// Every format writes and reads each member of these types. When one gains a member, this fails
// to compile: add a context member to the table in context_fields.hpp (and, if its type is new,
// that type to each format's MemberWriter and MemberReader), an Entity or EntityCollection member
// to every writer and reader (sdk/src/format, sdk/amqp); then to tests/format/sample_contexts.hpp,
// the JSON Schema and docs/FORMATS.md, and update the size.
static_assert(sizeof(void*) != 8 || sizeof(ExecutionContext) == 696, "ExecutionContext changed");
static_assert(sizeof(void*) != 8 || sizeof(Entity) == 176, "Entity changed");
static_assert(sizeof(void*) != 8 || sizeof(EntityCollection) == 104, "EntityCollection changed");

constexpr Format all_formats[] = {Format::dataverse_json, Format::json, Format::xml, Format::binary,
                                  Format::cloudevents};

[[noreturn]] void binary_needs_amqp_library() {
  throw std::invalid_argument(
      "the binary format is AMQP-encoded and lives in the stepline_sdk_amqp library: link it and "
      "call "
      "stepline::format::serialize_any_format() / parse_any_format() from "
      "<stepline/format/binary.hpp>");
}

/// The writer and reader of a format the SDK library carries.
struct TextFormat {
  Format format;
  std::string (*write)(const ExecutionContext&);
  ExecutionContext (*read)(std::string_view);
};

constexpr TextFormat text_formats[] = {
    {Format::dataverse_json, dataverse_json::write_context, dataverse_json::read_context},
    {Format::json, json::write_context, json::read_context},
    {Format::xml, xml::write_context, xml::read_context},
    {Format::cloudevents, cloudevents::write_context, cloudevents::read_context},
};

const TextFormat& text_format(Format format) {
  for (const TextFormat& f : text_formats)
    if (f.format == format) return f;
  binary_needs_amqp_library();
}

}  // namespace

std::string_view to_string(Format format) noexcept {
  switch (format) {
    case Format::dataverse_json:
      return "dataverse-json";
    case Format::json:
      return "json";
    case Format::xml:
      return "xml";
    case Format::binary:
      return "binary";
    case Format::cloudevents:
      return "cloudevents";
  }
  return "unknown";
}

std::optional<Format> try_parse_format_name(std::string_view name) noexcept {
  for (Format f : all_formats)
    if (to_string(f) == name) return f;
  return std::nullopt;
}

Format parse_format_name(std::string_view name) {
  if (auto f = try_parse_format_name(name)) return *f;
  throw std::invalid_argument("unknown message format '" + std::string(name) +
                              "'; use one of dataverse-json, json, xml, binary, cloudevents");
}

std::string_view content_type(Format format) noexcept {
  switch (format) {
    case Format::dataverse_json:
    case Format::json:
      return "application/json";
    case Format::xml:
      return "application/xml";
    case Format::binary:
      return "application/x-amqp-map";
    case Format::cloudevents:
      return "application/cloudevents+json";
  }
  return "application/octet-stream";
}

std::string serialize(const ExecutionContext& context, Format format) {
  return text_format(format).write(context);
}

ExecutionContext parse(std::string_view body, Format format) {
  return text_format(format).read(body);
}

}  // namespace stepline::format
