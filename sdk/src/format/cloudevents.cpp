// The `cloudevents` format: CloudEvents 1.0, structured mode, JSON event format.
#include <stepline/format/cloudevents.hpp>

#include <stepline/format/format.hpp>
#include <stepline/text.hpp>

#include "json_codec.hpp"

namespace stepline::format::cloudevents {
namespace {

using detail::Path;

/// Unique per event from one source: the operation (system job) id, else the request id, else
/// a fresh guid for a context that has neither.
std::string event_id(const ExecutionContext& c) {
  if (!c.operation_id.is_nil()) return c.operation_id.str();
  if (c.request_id && !c.request_id->is_nil()) return c.request_id->str();
  return Guid::random().str();
}

std::string_view view(const rapidjson::Value& s) {
  return {s.GetString(), s.GetStringLength()};
}

const rapidjson::Value& required_string(const rapidjson::Value& event, const char* name) {
  auto it = event.FindMember(name);
  Path root;
  Path at(root, name);
  if (it == event.MemberEnd())
    at.fail("a CloudEvent needs the \"" + std::string(name) + "\" attribute");
  if (!it->value.IsString() || it->value.GetStringLength() == 0)
    at.fail(std::string("expected a non-empty string, found ") + detail::describe(it->value));
  return it->value;
}

}  // namespace

std::string event_type(const ExecutionContext& c) {
  std::string type = "stepline." + text::lower(c.message_name);
  if (!c.primary_entity_name.empty()) type += "." + text::lower(c.primary_entity_name);
  return type;
}

std::string event_source(const ExecutionContext& c) {
  return "/organizations/" + text::percent_encode(c.organization_name.empty()
                                                      ? c.organization_id.str()
                                                      : c.organization_name);
}

std::string write_context(const ExecutionContext& c) {
  return detail::write_json([&](detail::JsonWriter& w) {
    auto string_member = [&](const char* key, const std::string& value) {
      w.Key(key);
      w.Text(value);
    };
    w.StartObject();
    string_member("specversion", "1.0");
    string_member("id", event_id(c));
    string_member("source", event_source(c));
    string_member("type", event_type(c));
    string_member("subject", c.primary_entity_id.str());
    string_member("time", to_iso8601(c.operation_created_on));
    string_member("datacontenttype", "application/json");
    w.Key("data");
    detail::write_json_context(w, c);
    w.EndObject();
  });
}

ExecutionContext read_context(std::string_view json) {
  rapidjson::Document d;
  detail::parse_json(json, d);
  if (!d.IsObject())
    Path().fail(std::string("expected a CloudEvent object, found ") + detail::describe(d));
  if (view(required_string(d, "specversion")) != "1.0")
    Path(Path(), "specversion")
        .fail("only CloudEvents 1.0 is read, found \"" + std::string(view(d["specversion"])) +
              "\"");
  required_string(d, "id");
  required_string(d, "source");
  required_string(d, "type");
  if (auto it = d.FindMember("datacontenttype"); it != d.MemberEnd()) {
    if (!it->value.IsString() || !view(it->value).starts_with("application/json"))
      Path(Path(), "datacontenttype").fail("the data must be application/json");
  }
  auto data = d.FindMember("data");
  if (data == d.MemberEnd()) {
    if (d.HasMember("data_base64"))
      Path(Path(), "data_base64")
          .fail("binary data is not a context; expected \"data\" with the json context");
    Path().fail("a CloudEvent carrying a context needs \"data\"");
  }
  return detail::read_json_context(data->value, Path(Path(), "data"));
}

namespace {

const FormatRegistration cloudevents_format({.name = "cloudevents",
                                             .content_type = "application/cloudevents+json",
                                             .write = write_context,
                                             .read = read_context,
                                             .library = "stepline-sdk"});

}  // namespace

}  // namespace stepline::format::cloudevents
