#include "stepline/host/endpoints/endpoint_message.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include <proton/uuid.hpp>

#include <stepline/azure/names.hpp>
#include <stepline/format/binary.hpp>
#include <stepline/text.hpp>

#include "stepline/host/endpoints/message_properties.hpp"

namespace stepline::host::endpoints {
namespace {

using registration::Contract;
using registration::ServiceEndpoint;

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

// The message in its AMQP 1.0 encoding, written straight into one buffer byte for byte as
// Proton's pn_message_encode writes the same message (tests/endpoints compares the two): no
// proton::message is built, filled, encoded and freed per post. The sections in order: header
// (durable), message-annotations, properties, application-properties (sorted by key, the order of
// proton::map), body. Compound values take Proton's encodings: maps always map32, a described
// list list8 when it fits, list0 when empty, its trailing nulls left out.
class MessageWriter {
 public:
  explicit MessageWriter(std::string& out) : out_(out) {}

  void section(std::uint8_t descriptor) {
    const char described[] = {0x00, 0x53, static_cast<char>(descriptor)};  // by a smallulong code
    out_.append(described, sizeof described);
  }
  void null() { put(0x40); }
  void boolean(bool value) { put(value ? 0x41 : 0x42); }
  void uint0() { put(0x43); }
  void timestamp(std::int64_t milliseconds) {
    put(0x83);
    be(static_cast<std::uint64_t>(milliseconds), 8);
  }
  void string(std::string_view text) { variable(0xa1, 0xb1, text); }
  void symbol(std::string_view text) { variable(0xa3, 0xb3, text); }
  void binary(std::string_view bytes) { variable(0xa0, 0xb0, bytes); }
  void encoded(std::string_view value) { out_.append(value); }

  /// Fields follow, then end_list() with their count.
  std::size_t begin_list() {
    put(0xc0);
    out_.append(2, '\0');
    return out_.size() - 2;
  }
  void end_list(std::size_t at, std::size_t count) {
    const std::size_t size = out_.size() - at - 1;  // the count byte and the fields
    if (count == 0) {
      out_.resize(at - 1);
      put(0x45);
    } else if (size <= 0xff) {
      out_[at] = static_cast<char>(size);
      out_[at + 1] = static_cast<char>(count);
    } else {
      out_[at - 1] = static_cast<char>(0xd0);  // list32: four-byte size and count
      std::string head;
      MessageWriter(head).be(size + 3, 4);
      MessageWriter(head).be(count, 4);
      out_.replace(at, 2, head);
    }
  }
  /// Keys and values follow, then end_map() with the number of entries.
  std::size_t begin_map() {
    put(0xd1);
    out_.append(8, '\0');
    return out_.size() - 8;
  }
  void end_map(std::size_t at, std::size_t entries) {
    std::string head;
    MessageWriter(head).be(out_.size() - at - 4, 4);
    MessageWriter(head).be(2 * entries, 4);
    out_.replace(at, 8, head);
  }

 private:
  void put(std::uint8_t byte) { out_.push_back(static_cast<char>(byte)); }
  void be(std::uint64_t value, int bytes) {
    for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8)
      put(static_cast<std::uint8_t>(value >> shift));
  }
  void variable(std::uint8_t code8, std::uint8_t code32, std::string_view bytes) {
    // The constructor and length in one append, then the bytes in another.
    char head[5];
    std::size_t n = 0;
    if (bytes.size() <= 0xff) {
      head[n++] = static_cast<char>(code8);
      head[n++] = static_cast<char>(bytes.size());
    } else {
      head[n++] = static_cast<char>(code32);
      for (int shift = 24; shift >= 0; shift -= 8)
        head[n++] = static_cast<char>(bytes.size() >> shift);
    }
    out_.append(head, n).append(bytes);
  }

  std::string& out_;
};

// Section descriptors (AMQP 1.0 part 3.2).
constexpr std::uint8_t header_section = 0x70, message_annotations_section = 0x72,
                       properties_section = 0x73, application_properties_section = 0x74,
                       data_section = 0x75, amqp_value_section = 0x77;

// Every application property a message may carry, in the order of their keys: the order Proton
// writes a proton::map in, so each message is written in that order without sorting.
constexpr auto property_keys = [] {
  std::array<std::string_view, 16> keys{claim::organization,
                                        claim::user,
                                        claim::initiating_user,
                                        claim::entity_logical_name,
                                        claim::request_name,
                                        claim::initiating_user_agent,
                                        twin::organization,
                                        twin::user,
                                        twin::initiating_user,
                                        twin::entity,
                                        twin::message,
                                        twin::initiating_user_agent,
                                        trace::diagnostic_id,
                                        trace::traceparent,
                                        message_max_size_exceeded,
                                        format::claim_check_property};
  std::sort(keys.begin(), keys.end());
  return keys;
}();

constexpr std::size_t slot(std::string_view key) {
  std::size_t i = 0;
  while (property_keys[i] != key) ++i;  // past the end: not a constant, so no build
  return i;
}

// Everything of a message but its body. Property values are views of the context, of the claim
// check, or of the strings kept here.
struct Envelope {
  enum class Kind : std::uint8_t { absent, text, flag };
  Envelope() = default;
  Envelope(const Envelope&) = delete;  // its views point into it
  Envelope& operator=(const Envelope&) = delete;
  std::string_view id, correlation_id;
  std::string subject;
  std::string_view content_type;
  std::int64_t creation_time = 0;  ///< milliseconds since the epoch; 0 = none
  std::string group_id;
  std::string partition_key;  ///< the Event Hubs partition key annotation; empty = none
  std::array<Kind, property_keys.size()> kinds{};
  std::array<std::string_view, property_keys.size()> values{};
  // Values made for the properties and ids, kept here while the views above point at them.
  Guid::Text operation_id{}, correlation{}, organization{}, user{}, initiating_user{};
  std::string call_id;  ///< a two-way post's own message id

  template <std::size_t Slot>
  void property(std::string_view value) {
    kinds[Slot] = Kind::text;
    values[Slot] = value;
  }
  template <std::size_t Slot>
  void flag() {
    kinds[Slot] = Kind::flag;
  }
};

// What the body section holds.
struct Body {
  std::string_view bytes;
  bool amqp_value = false;  ///< `bytes` is an encoded AMQP value (binary), not a data section's
};

void write_message(std::string& out, const Envelope& e, const Body& body) {
  out.clear();
  std::size_t properties_size = 0;
  for (std::size_t i = 0; i < property_keys.size(); ++i)
    properties_size += 2 * 6 + property_keys[i].size() + e.values[i].size();
  out.reserve(160 + e.id.size() + e.correlation_id.size() + e.subject.size() +
              e.content_type.size() + e.group_id.size() + e.partition_key.size() + properties_size +
              body.bytes.size());
  MessageWriter w(out);
  w.section(header_section);
  std::size_t at = w.begin_list();
  w.boolean(true);  // durable
  w.end_list(at, 1);
  if (!e.partition_key.empty()) {
    w.section(message_annotations_section);
    at = w.begin_map();
    w.symbol(azure::annotation::partition_key);
    w.string(e.partition_key);
    w.end_map(at, 1);
  }
  w.section(properties_section);
  at = w.begin_list();
  w.string(e.id);
  w.null();  // user-id
  w.null();  // to
  w.string(e.subject);
  w.null();  // reply-to
  w.string(e.correlation_id);
  w.symbol(e.content_type);
  std::size_t fields = 7;
  if (e.creation_time != 0 || !e.group_id.empty()) {
    w.null();  // content-encoding
    w.null();  // absolute-expiry-time
    if (e.creation_time != 0) {
      w.timestamp(e.creation_time);
    } else {
      w.null();
    }
    fields = 10;
  }
  if (!e.group_id.empty()) {
    w.string(e.group_id);
    w.uint0();  // group-sequence, which Proton writes beside a group-id
    fields = 12;
  }
  w.end_list(at, fields);
  std::size_t entries = 0;
  for (auto kind : e.kinds) entries += kind != Envelope::Kind::absent;
  if (entries != 0) {
    w.section(application_properties_section);
    at = w.begin_map();
    for (std::size_t i = 0; i < property_keys.size(); ++i) {
      if (e.kinds[i] == Envelope::Kind::absent) continue;
      w.string(property_keys[i]);
      if (e.kinds[i] == Envelope::Kind::flag) {
        w.boolean(true);
      } else {
        w.string(e.values[i]);
      }
    }
    w.end_map(at, entries);
  }
  if (body.amqp_value) {
    w.section(amqp_value_section);
    w.encoded(body.bytes);
  } else {
    w.section(data_section);
    w.binary(body.bytes);
  }
}

void add_claims(Envelope& e, const ServiceEndpoint& endpoint, const ExecutionContext& c) {
  using registration::UserClaim;
  std::string_view organization = c.organization_name;
  if (organization.empty()) organization = (e.organization = c.organization_id.text()).view();
  e.property<slot(claim::organization)>(organization);
  e.property<slot(twin::organization)>(organization);
  if (endpoint.user_claim != UserClaim::none) {
    e.user = c.user_id.text();
    e.initiating_user = c.initiating_user_id.text();
    e.property<slot(claim::user)>(e.user.view());
    e.property<slot(twin::user)>(e.user.view());
    e.property<slot(claim::initiating_user)>(e.initiating_user.view());
    e.property<slot(twin::initiating_user)>(e.initiating_user.view());
  }
  e.property<slot(claim::entity_logical_name)>(c.primary_entity_name);
  e.property<slot(twin::entity)>(c.primary_entity_name);
  e.property<slot(claim::request_name)>(c.message_name);
  e.property<slot(twin::message)>(c.message_name);
  if (endpoint.user_claim == UserClaim::user_info && !c.initiating_user_agent.empty()) {
    e.property<slot(claim::initiating_user_agent)>(c.initiating_user_agent);
    e.property<slot(twin::initiating_user_agent)>(c.initiating_user_agent);
  }
}

// The operation's W3C trace context, under the names the Azure SDKs read to continue a trace:
// Diagnostic-Id (Service Bus and Event Hubs clients) and traceparent.
void add_trace_context(Envelope& e, const ExecutionContext& c) {
  auto it = c.shared_variables.find("traceparent");
  if (it == c.shared_variables.end()) return;
  const auto* text = it->second.get_if<std::string>();
  if (!text || text->empty()) return;
  e.property<slot(trace::diagnostic_id)>(*text);
  e.property<slot(trace::traceparent)>(*text);
}

// `c` written in `format` as a body: the binary map as an amqp-value section, any other format's
// bytes as one data section (format::write_body's sections). `json_text`, when given, is `c`
// already in the json format. `storage` keeps the bytes the body points at.
Body body_of(const format::Format& format, const ExecutionContext& c, std::string_view json_text,
             std::string& storage) {
  if (format.name == "json" && !json_text.empty()) return {json_text};
  if (&format == &format::binary::format()) {
    storage = format::binary::write_context(c);
    return {storage, true};
  }
  storage = format.write(c);
  return {storage};
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

namespace {

// encode_message(), and with `claim` the message that carries its claim check instead.
EncodedEndpointMessage encode(const ServiceEndpoint& endpoint, const ExecutionContext& context,
                              const PostOptions& options, const format::ClaimCheck* claim) {
  const std::size_t limit = max_message_size(endpoint);
  const format::Format& format = format::format_named(endpoint.format);
  EncodedEndpointMessage out;
  std::string& bytes = out.message.bytes;
  Envelope e;

  // A two-way post is a call: a retry must reach the listener again and get its own reply, so
  // it must not look like a duplicate of the first attempt.
  if (endpoint.contract == Contract::twoway) {
    e.call_id = proton::uuid::random().str();
    e.id = e.call_id;
  } else {
    e.operation_id = context.operation_id.text();
    e.id = e.operation_id.view();
  }
  e.correlation = context.correlation_id.text();
  e.correlation_id = e.correlation.view();
  e.subject.reserve(context.message_name.size() + 1 + context.primary_entity_name.size() + 4);
  e.subject.append(context.message_name)
      .append(":")
      .append(context.primary_entity_name.empty() ? "none" : context.primary_entity_name);
  e.content_type = claim ? format::claim_check_content_type : std::string_view(format.content_type);
  if (context.operation_created_on.time_since_epoch().count() != 0)
    e.creation_time = context.operation_created_on.time_since_epoch().count();

  add_claims(e, endpoint, context);
  add_trace_context(e, context);
  if (endpoint.contract == Contract::eventhub) {
    if (!posts_to_partition(endpoint)) e.partition_key = partition_key(endpoint, context, options);
  } else {
    e.group_id = session_key(endpoint, context, options);
  }

  std::string storage;
  if (claim) {
    e.property<slot(format::claim_check_property)>(claim->url);
    storage = format::write_claim_check(*claim);
    write_message(bytes, e, {storage});
    return out;
  }
  write_message(bytes, e, body_of(format, context, options.json_body, storage));
  if (bytes.size() <= limit) return out;

  const std::string what = describe(endpoint) + ": the context of " + describe(context);
  if (endpoint.size_policy == registration::SizePolicy::claim_check) {
    // The poster uploads this and posts claim_check_message()'s message instead.
    if (format.name == "json" && !options.json_body.empty())
      out.oversized_body = std::string(options.json_body);
    else
      out.oversized_body = storage.empty() ? format.write(context) : std::move(storage);
    return out;
  }
  if (endpoint.size_policy == registration::SizePolicy::fail)
    throw MessageTooLarge(what + " is " + std::to_string(bytes.size()) +
                              " bytes, over the endpoint's limit of " + std::to_string(limit) +
                              " bytes, and size_policy is fail; set size_policy: claim-check "
                              "to send it whole through Blob Storage, truncate to send it "
                              "without ParentContext, InputParameters and images, or raise "
                              "max_message_size as far as the service allows",
                          bytes.size(), limit);

  // Dataverse's rule: drop what a listener can read back from the
  // record, and flag the message so it knows to.
  ExecutionContext slim = context;
  slim.parent_context.reset();
  slim.input_parameters.clear();
  slim.pre_entity_images.clear();
  slim.post_entity_images.clear();
  e.flag<slot(message_max_size_exceeded)>();
  write_message(bytes, e, body_of(format, slim, {}, storage));
  out.truncated = true;
  if (bytes.size() <= limit) return out;
  throw MessageTooLarge(what + " is " + std::to_string(bytes.size()) +
                            " bytes even without ParentContext, InputParameters and images, "
                            "over the endpoint's limit of " +
                            std::to_string(limit) +
                            " bytes; write less into OutputParameters and SharedVariables, set "
                            "size_policy: claim-check, or raise max_message_size as far as the "
                            "service allows",
                        bytes.size(), limit);
}

}  // namespace

EncodedEndpointMessage encode_message(const ServiceEndpoint& endpoint,
                                      const ExecutionContext& context, const PostOptions& options) {
  return encode(endpoint, context, options, nullptr);
}

EncodedEndpointMessage claim_check_message(const ServiceEndpoint& endpoint,
                                           const ExecutionContext& context,
                                           const format::ClaimCheck& reference,
                                           const PostOptions& options) {
  return encode(endpoint, context, options, &reference);
}

EndpointMessage compose_message(const ServiceEndpoint& endpoint, const ExecutionContext& context,
                                const PostOptions& options) {
  EncodedEndpointMessage encoded = encode_message(endpoint, context, options);
  EndpointMessage out;
  const std::string& bytes = encoded.message.bytes;
  out.message.decode(std::vector<char>(bytes.begin(), bytes.end()));
  out.size = bytes.size();
  out.truncated = encoded.truncated;
  out.oversized_body = std::move(encoded.oversized_body);
  return out;
}

}  // namespace stepline::host::endpoints
