#include "stepline/host/endpoints/endpoint_message.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include <proton/annotation_key.hpp>
#include <proton/binary.hpp>
#include <proton/message_id.hpp>
#include <proton/scalar.hpp>
#include <proton/symbol.hpp>
#include <proton/timestamp.hpp>
#include <proton/uuid.hpp>
#include <proton/value.hpp>

#include <stepline/azure/names.hpp>
#include <stepline/format/binary.hpp>
#include <stepline/text.hpp>

#include "stepline/host/endpoints/message_properties.hpp"

namespace stepline::host::endpoints {
namespace {

using registration::Contract;
using registration::ServiceEndpoint;

// Generous per-field and per-message allowances of the AMQP encoding (descriptors, constructors,
// lengths), so that a message well under its limit is never encoded just to be measured.
constexpr std::size_t message_overhead = 256;
constexpr std::size_t field_overhead = 10;

// Fills in one placeholder name; false when the name is unknown.
bool placeholder_value(std::string_view name, const ExecutionContext& c, std::string& out) {
  if (name == "primary_entity_id") {
    out = c.primary_entity_id.str();
  } else if (name == "primary_entity_name") {
    out = c.primary_entity_name;
  } else if (name == "message_name") {
    out = c.message_name;
  } else if (name == "correlation_id") {
    out = c.correlation_id.str();
  } else if (name == "user_id") {
    out = c.user_id.str();
  } else if (name == "initiating_user_id") {
    out = c.initiating_user_id.str();
  } else if (name == "organization_id") {
    out = c.organization_id.str();
  } else if (name == "business_unit_id") {
    out = c.business_unit_id.str();
  } else {
    return false;
  }
  return true;
}

constexpr std::string_view placeholder_names =
    "{primary_entity_id}, {primary_entity_name}, {message_name}, {correlation_id}, {user_id}, "
    "{initiating_user_id}, {organization_id}, {business_unit_id}";

// Expands `text`; returns the problem instead when a placeholder is unknown or unclosed.
std::pair<std::string, std::string> expand(std::string_view text, const ExecutionContext& c) {
  std::string out, value;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t open = text.find('{', at);
    if (open == std::string_view::npos) {
      out.append(text.substr(at));
      break;
    }
    out.append(text.substr(at, open - at));
    std::size_t close = text.find('}', open);
    if (close == std::string_view::npos)
      return {{}, "partition_key: '{' at offset " + std::to_string(open) + " is never closed"};
    std::string_view name = text.substr(open + 1, close - open - 1);
    if (!placeholder_value(name, c, value))
      return {{},
              "partition_key: unknown placeholder {" + std::string(name) + "}; use one of " +
                  std::string(placeholder_names)};
    out += value;
    at = close + 1;
  }
  return {std::move(out), {}};
}

// The message without its body, and a bound on what those sections take encoded.
class Envelope {
 public:
  explicit Envelope(proton::message& m) : m_(m) {}

  void property(std::string_view key, std::string value) {
    bound_ += key.size() + value.size() + 2 * field_overhead;
    m_.properties().put(std::string(key), std::move(value));
  }
  void flag(std::string_view key) {
    bound_ += key.size() + 2 * field_overhead;
    m_.properties().put(std::string(key), true);
  }
  void annotation(std::string_view key, std::string value) {
    bound_ += key.size() + value.size() + 2 * field_overhead;
    m_.message_annotations().put(proton::symbol(std::string(key)), std::move(value));
  }
  void text_field(const std::string& value) { bound_ += value.size() + field_overhead; }
  /// Properties set another way (a copy of ones built before), with their share of the bound.
  void properties(const proton::message::property_map& map, std::size_t bound) {
    m_.properties() = map;
    bound_ += bound;
  }
  std::size_t bound() const { return bound_; }

 private:
  proton::message& m_;
  std::size_t bound_ = message_overhead;
};

void add_claims(Envelope& e, const ServiceEndpoint& endpoint, const ExecutionContext& c) {
  using registration::UserClaim;
  std::string organization =
      c.organization_name.empty() ? c.organization_id.str() : c.organization_name;
  e.property(claim::organization, organization);
  e.property(twin::organization, std::move(organization));
  if (endpoint.user_claim != UserClaim::none) {
    e.property(claim::user, c.user_id.str());
    e.property(twin::user, c.user_id.str());
    e.property(claim::initiating_user, c.initiating_user_id.str());
    e.property(twin::initiating_user, c.initiating_user_id.str());
  }
  e.property(claim::entity_logical_name, c.primary_entity_name);
  e.property(twin::entity, c.primary_entity_name);
  e.property(claim::request_name, c.message_name);
  e.property(twin::message, c.message_name);
  if (endpoint.user_claim == UserClaim::user_info && !c.initiating_user_agent.empty()) {
    e.property(claim::initiating_user_agent, c.initiating_user_agent);
    e.property(twin::initiating_user_agent, c.initiating_user_agent);
  }
}

// add_claims' properties for a run of posts with the same values (one endpoint's posts for one
// user in one organization, of one message and entity): built once and kept encoded, so that
// each post copies the map instead of putting a dozen entries. The copy is held decoded, as the
// puts leave it: proton decodes an encoded map again before it encodes a message. One per thread
// (the async service's workers post from their own threads).
void add_claims_once(Envelope& e, const ServiceEndpoint& endpoint, const ExecutionContext& c) {
  struct Built {
    std::string key;
    proton::message::property_map properties;
    std::size_t bound = 0;
  };
  thread_local Built built;
  // Every value add_claims reads, each with its length.
  std::string key;
  auto field = [&key](std::string_view v) {
    const auto n = v.size();
    key.append(reinterpret_cast<const char*>(&n), sizeof n).append(v);
  };
  auto guid = [&field](const Guid& g) {
    field(std::string_view(reinterpret_cast<const char*>(g.bytes().data()), g.bytes().size()));
  };
  key.push_back(static_cast<char>(endpoint.user_claim));
  field(c.organization_name);
  guid(c.organization_id);
  guid(c.user_id);
  guid(c.initiating_user_id);
  field(c.primary_entity_name);
  field(c.message_name);
  field(c.initiating_user_agent);
  if (key != built.key) {
    proton::message scratch;
    Envelope claims(scratch);
    add_claims(claims, endpoint, c);
    built.properties = scratch.properties();
    built.bound = claims.bound() - Envelope(scratch).bound();
    built.key = std::move(key);
  }
  e.properties(built.properties, built.bound);
}

// The operation's W3C trace context, under the names the Azure SDKs read to continue a trace:
// Diagnostic-Id (Service Bus and Event Hubs clients) and traceparent.
void add_trace_context(Envelope& e, const ExecutionContext& c) {
  auto it = c.shared_variables.find("traceparent");
  if (it == c.shared_variables.end()) return;
  const auto* text = it->second.get_if<std::string>();
  if (!text || text->empty()) return;
  e.property(trace::diagnostic_id, *text);
  e.property(trace::traceparent, *text);
}

// Sets the body; returns its size in bytes, or 0 when only encoding tells (the AMQP map).
// `json_text`, when given, is `c` already in the json format.
std::size_t set_body(proton::message& m, const format::Format& format, const ExecutionContext& c,
                     std::string_view json_text = {}) {
  if (format.name == "json" && !json_text.empty()) {
    m.inferred(true);
    // From unsigned bytes, so that the copy is one memmove rather than a loop over chars.
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(json_text.data());
    m.body(proton::binary(bytes, bytes + json_text.size()));
    return json_text.size();
  }
  return format::write_body(m, c, format);
}

// The encoded size, exact unless the bound already shows it fits.
std::size_t measure(const proton::message& m, std::size_t body, std::size_t bound,
                    std::size_t limit) {
  if (body != 0 && body + bound <= limit) return body + bound;
  std::vector<char> bytes;
  m.encode(bytes);
  return bytes.size();
}

std::string session_key(const ServiceEndpoint& endpoint, const ExecutionContext& c,
                        const PostOptions& options) {
  if (!options.ordering_key.empty()) return options.ordering_key;
  if (endpoint.order == registration::Ordering::per_record && !c.primary_entity_id.is_nil())
    return c.primary_entity_id.str();
  return {};
}

}  // namespace

std::string describe(const ServiceEndpoint& endpoint) {
  std::string text = "endpoint '" + endpoint.name + "'";
  if (!endpoint.where.file.empty())
    text += " (" + endpoint.where.file + ":" + std::to_string(endpoint.where.line) + ")";
  return text;
}

std::string describe(const ExecutionContext& context) {
  std::string text = context.message_name + " of " +
                     (context.primary_entity_name.empty() ? "none" : context.primary_entity_name);
  if (!context.primary_entity_id.is_nil()) text += " " + context.primary_entity_id.str();
  return text;
}

std::size_t max_message_size(const ServiceEndpoint& endpoint) {
  if (endpoint.max_message_size != 0) return endpoint.max_message_size;
  return endpoint.contract == Contract::eventhub ? event_hubs_max_message_size
                                                 : service_bus_max_message_size;
}

bool posts_to_partition(const ServiceEndpoint& endpoint) {
  return text::lower(endpoint.path).find("/partitions/") != std::string::npos;
}

std::string partition_key(const ServiceEndpoint& endpoint, const ExecutionContext& context,
                          const PostOptions& options) {
  if (!options.ordering_key.empty()) return options.ordering_key;
  if (!endpoint.partition_key.empty()) {
    auto [key, problem] = expand(endpoint.partition_key, context);
    if (!problem.empty()) throw std::invalid_argument(describe(endpoint) + ": " + problem);
    return key;
  }
  return context.primary_entity_id.is_nil() ? std::string() : context.primary_entity_id.str();
}

std::string partition_key_problem(const ServiceEndpoint& endpoint) {
  if (endpoint.partition_key.empty()) return {};
  auto [key, problem] = expand(endpoint.partition_key, ExecutionContext{});
  return problem.empty() ? std::string() : describe(endpoint) + ": " + problem;
}

EndpointMessage compose_message(const ServiceEndpoint& endpoint, const ExecutionContext& context,
                                const PostOptions& options) {
  const std::size_t limit = max_message_size(endpoint);
  const format::Format& format = format::format_named(endpoint.format);
  EndpointMessage out;
  proton::message& m = out.message;
  Envelope e(m);

  // A two-way post is a call: a retry must reach the listener again and get its own reply, so
  // it must not look like a duplicate of the first attempt.
  std::string id = endpoint.contract == Contract::twoway ? proton::uuid::random().str()
                                                         : context.operation_id.str();
  e.text_field(id);
  m.id(id);
  m.correlation_id(context.correlation_id.str());
  std::string subject =
      context.message_name + ":" +
      (context.primary_entity_name.empty() ? std::string("none") : context.primary_entity_name);
  e.text_field(subject);
  m.subject(std::move(subject));
  std::string content_type(format.content_type);
  e.text_field(content_type);
  m.content_type(content_type);
  m.durable(true);
  if (context.operation_created_on.time_since_epoch().count() != 0)
    m.creation_time(proton::timestamp(context.operation_created_on.time_since_epoch().count()));

  add_claims_once(e, endpoint, context);
  add_trace_context(e, context);
  if (endpoint.contract == Contract::eventhub) {
    if (!posts_to_partition(endpoint)) {
      std::string key = partition_key(endpoint, context, options);
      if (!key.empty()) e.annotation(azure::annotation::partition_key, std::move(key));
    }
  } else if (std::string session = session_key(endpoint, context, options); !session.empty()) {
    e.text_field(session);
    m.group_id(session);
  }

  std::size_t body = set_body(m, format, context, options.json_body);
  out.size = measure(m, body, e.bound(), limit);
  if (out.size <= limit) return out;

  const std::string what = describe(endpoint) + ": the context of " + describe(context);
  if (endpoint.size_policy == registration::SizePolicy::claim_check) {
    // The poster uploads this and posts attach_claim_check()'s message instead.
    if (format.name == "json" && !options.json_body.empty())
      out.oversized_body = std::string(options.json_body);
    else
      out.oversized_body = format.write(context);
    return out;
  }
  if (endpoint.size_policy == registration::SizePolicy::fail)
    throw MessageTooLarge(what + " is " + std::to_string(out.size) +
                              " bytes, over the endpoint's limit of " + std::to_string(limit) +
                              " bytes, and size_policy is fail; set size_policy: claim-check "
                              "to send it whole through Blob Storage, truncate to send it "
                              "without ParentContext, InputParameters and images, or raise "
                              "max_message_size as far as the service allows",
                          out.size, limit);

  // Dataverse's rule: drop what a listener can read back from the
  // record, and flag the message so it knows to.
  ExecutionContext slim = context;
  slim.parent_context.reset();
  slim.input_parameters.clear();
  slim.pre_entity_images.clear();
  slim.post_entity_images.clear();
  e.flag(message_max_size_exceeded);
  body = set_body(m, format, slim);
  out.size = measure(m, body, e.bound(), limit);
  out.truncated = true;
  if (out.size <= limit) return out;
  throw MessageTooLarge(what + " is " + std::to_string(out.size) +
                            " bytes even without ParentContext, InputParameters and images, "
                            "over the endpoint's limit of " +
                            std::to_string(limit) +
                            " bytes; write less into OutputParameters and SharedVariables, set "
                            "size_policy: claim-check, or raise max_message_size as far as the "
                            "service allows",
                        out.size, limit);
}

void attach_claim_check(EndpointMessage& out, const format::ClaimCheck& reference) {
  proton::message& m = out.message;
  const std::string body = format::write_claim_check(reference);
  m.inferred(true);
  m.body(proton::binary(body.begin(), body.end()));
  m.content_type(std::string(format::claim_check_content_type));
  m.properties().put(std::string(format::claim_check_property), reference.url);
  out.oversized_body.clear();
  std::vector<char> bytes;
  m.encode(bytes);
  out.size = bytes.size();
}

}  // namespace stepline::host::endpoints
