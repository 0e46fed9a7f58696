// Messages cut into their sections (sections.hpp): what the broker stamps on them reads back
// through Proton as if Proton had encoded it, the bare message comes through byte for byte, and
// what the cutting does not recognise is refused rather than misread.
#include <algorithm>
#include <vector>

#include <doctest/doctest.h>

#include <proton/codec.h>
#include <proton/annotation_key.hpp>
#include <proton/message_id.hpp>
#include <proton/timestamp.hpp>

#include "codec.hpp"
#include "event_hub.hpp"
#include "sections.hpp"

using namespace stepline::broker;

namespace {

// A message with every section a sender writes: header, annotations, properties, application
// properties, a body; then the byte-exact bare message as Proton encodes it.
proton::message full_message() {
  proton::message m;
  m.durable(true);
  m.priority(7);
  m.ttl(proton::duration(60000));
  m.id("job-1");
  m.correlation_id("corr");
  m.content_type("application/json");
  m.subject("Create");
  m.message_annotations().put(proton::symbol("x-opt-partition-key"), "pk");
  m.properties().put("http://schemas.microsoft.com/xrm/2011/Claims/Organization", "org.example");
  m.properties().put("count", int64_t(42));
  m.body(proton::binary(std::string(R"({"MessageName":"Create"})")));
  return m;
}

std::string bare_of(const std::string& bytes) {
  MessageSections s;
  REQUIRE(cut_sections(bytes, s));
  return std::string(s.bare);
}

int64_t annotation_ms(const proton::message& m, const char* key) {
  proton::value v = m.message_annotations().get(proton::symbol(key));
  if (v.type() == proton::type_id::TIMESTAMP)
    return proton::get<proton::timestamp>(v).milliseconds();
  return proton::get<int64_t>(v);
}

}  // namespace

TEST_CASE(
    "a message cuts into its sections, and the bare message is everything from properties on") {
  std::string bytes = encode_message(full_message());
  MessageSections s;
  REQUIRE(cut_sections(bytes, s));
  CHECK(!s.header.empty());
  CHECK(!s.message_annotations.empty());
  CHECK(!s.properties.empty());
  CHECK(!s.batch_like);
  CHECK(s.header.size() + s.delivery_annotations.size() + s.message_annotations.size() +
            s.bare.size() ==
        bytes.size());
  CHECK(bytes.substr(bytes.size() - s.bare.size()) == s.bare);
  CHECK(string_message_id(s.properties) == std::optional<std::string_view>("job-1"));
  HeaderFields h;
  REQUIRE(read_header(s.header, h));
  CHECK(h.durable);
  CHECK(h.priority == 7);
  CHECK(h.ttl_ms == 60000);
  CHECK(h.delivery_count == 0);
}

TEST_CASE("annotations added to a message's own read back with the message otherwise unchanged") {
  std::string bytes = encode_message(full_message());
  MessageSections s;
  REQUIRE(cut_sections(bytes, s));
  REQUIRE(can_annotate(s.message_annotations, {"x-opt-sequence-number", "x-opt-enqueued-time"}));
  auto annotations = annotations_with(
      s.message_annotations,
      {{"x-opt-sequence-number", false, 17}, {"x-opt-enqueued-time", true, 1700000000123}});
  REQUIRE(annotations);
  HeaderFields h;
  REQUIRE(read_header(s.header, h));
  h.delivery_count = 3;
  std::string stamped =
      header_section(h) + std::string(s.delivery_annotations) + *annotations + std::string(s.bare);
  proton::message back;
  decode_message(stamped, back);
  CHECK(annotation_ms(back, "x-opt-sequence-number") == 17);
  CHECK(annotation_ms(back, "x-opt-enqueued-time") == 1700000000123);
  CHECK(proton::get<std::string>(
            back.message_annotations().get(proton::symbol("x-opt-partition-key"))) == "pk");
  CHECK(back.delivery_count() == 3);
  CHECK(back.durable());
  CHECK(back.priority() == 7);
  CHECK(back.ttl().milliseconds() == 60000);
  CHECK(proton::get<std::string>(back.id()) == "job-1");
  CHECK(back.subject() == "Create");
  CHECK(proton::get<int64_t>(back.properties().get("count")) == 42);
  CHECK(bare_of(stamped) == bare_of(bytes));
  // Once there, a key cannot be added again.
  MessageSections again;
  REQUIRE(cut_sections(stamped, again));
  CHECK(!can_annotate(again.message_annotations, {"x-opt-enqueued-time"}));
  CHECK(can_annotate(again.message_annotations, {"x-opt-locked-until"}));
}

TEST_CASE("a message without header or annotations gets both, with delivery-count written") {
  proton::message m;
  m.id("plain");
  m.body("text");
  std::string bytes = encode_message(m);
  MessageSections s;
  REQUIRE(cut_sections(bytes, s));
  CHECK(s.message_annotations.empty());
  HeaderFields h;
  REQUIRE(read_header(s.header, h));
  CHECK(h.priority == 4);
  std::string header = header_section(h);
  CHECK(header.find(std::string("\x70\x00\x00\x00\x00", 5)) != std::string::npos);
  auto annotations = annotations_with(s.message_annotations, {{"x-opt-locked-until", true, 5}});
  REQUIRE(annotations);
  proton::message back;
  decode_message(header + *annotations + std::string(s.bare), back);
  CHECK(back.delivery_count() == 0);
  CHECK(annotation_ms(back, "x-opt-locked-until") == 5);
  CHECK(proton::get<std::string>(back.body()) == "text");
}

TEST_CASE("ids that are not strings, and absent ones, are left to the decoding path") {
  proton::message m;
  m.id(uint64_t(7));
  m.body("x");
  // The sections are views into the bytes, which must outlive them.
  const std::string numeric = encode_message(m);
  MessageSections s;
  REQUIRE(cut_sections(numeric, s));
  CHECK(!string_message_id(s.properties));
  proton::message none;
  none.body("x");
  const std::string without = encode_message(none);
  REQUIRE(cut_sections(without, s));
  CHECK(!string_message_id(s.properties));
}

TEST_CASE("a batch envelope's data sections are seen as holding messages") {
  proton::message inner;
  inner.body("member");
  std::string member = encode_message(inner);
  proton::message envelope;
  envelope.inferred(true);  // a binary body as a data section
  envelope.body(proton::binary(member));
  const std::string bytes = encode_message(envelope);
  MessageSections s;
  REQUIRE(cut_sections(bytes, s));
  CHECK(s.batch_like);
}

TEST_CASE("malformed, truncated or out-of-order sections are refused") {
  std::string bytes = encode_message(full_message());
  MessageSections s;
  REQUIRE(cut_sections(bytes, s));
  // Cut anywhere but between two sections.
  std::vector<size_t> boundaries{
      s.header.size(), s.header.size() + s.message_annotations.size(),
      s.header.size() + s.message_annotations.size() + s.properties.size()};
  for (size_t cut = 1; cut < bytes.size(); ++cut)
    if (std::find(boundaries.begin(), boundaries.end(), cut) == boundaries.end() &&
        bytes.find(std::string("\x00\x53", 2), cut) != cut)
      CHECK(!cut_sections(bytes.substr(0, cut), s));
  // Properties before the header.
  REQUIRE(cut_sections(bytes, s));
  CHECK(!cut_sections(std::string(s.bare) + std::string(s.header), s));
  // A symbolic descriptor, and a constructor that is no AMQP type.
  CHECK(!cut_sections(std::string("\x00\xa3\x10", 3) + "amqp:header:list" + "\x45", s));
  CHECK(!cut_sections(std::string("\x00\x53\x77\x46", 4), s));
  // Descriptors nested without end end the walk instead of the stack.
  CHECK(value_size(std::string(100000, '\0')) == 0);
  // A size that points past the end.
  CHECK(value_size(std::string("\xb0\xff\xff\xff\xff", 5)) == 0);
}

TEST_CASE("a string annotation is found by its symbol key, and nothing else is taken for it") {
  std::string bytes = encode_message(full_message());
  MessageSections s;
  REQUIRE(cut_sections(bytes, s));
  std::string_view key = "stale";
  REQUIRE(string_annotation(s.message_annotations, "x-opt-partition-key", key));
  CHECK(key == "pk");
  REQUIRE(string_annotation(s.message_annotations, "x-opt-offset", key));
  CHECK(key.empty());  // absent
  REQUIRE(string_annotation({}, "x-opt-partition-key", key));
  CHECK(key.empty());  // no annotations at all
  proton::message m;
  m.message_annotations().put(proton::symbol("x-opt-partition-key"), int64_t(7));
  m.message_annotations().put(proton::symbol("long-key"), std::string(300, 'k'));
  m.body("x");
  const std::string numeric = encode_message(m);
  REQUIRE(cut_sections(numeric, s));
  REQUIRE(string_annotation(s.message_annotations, "x-opt-partition-key", key));
  CHECK(key.empty());  // not a string: as Proton's reading gives no key
  REQUIRE(string_annotation(s.message_annotations, "long-key", key));
  CHECK(key == std::string(300, 'k'));  // a str32
  CHECK(!string_annotation(std::string("\x00\x53\x72\xc1\x05\x03", 6), "k", key));  // malformed
}

TEST_CASE("an event hub stores an event from its sections: stamped, its bare message as sent") {
  EventHubConfig config;
  config.name = "telemetry";
  config.partitions = 2;
  EventHub hub(config, nullptr);
  proton::message m = full_message();
  m.message_annotations().put(proton::symbol("custom"), "kept");
  const std::string bytes = encode_message(m);
  MessageSections s;
  REQUIRE(cut_sections(bytes, s));
  REQUIRE(EventHub::can_append(s));
  const StoredEvent* first = hub.append(1, s, 1700000000123);
  REQUIRE(first);
  CHECK(first->sequence == 0);
  CHECK(first->offset == 0);
  CHECK(bare_of(first->bytes) == std::string(s.bare));
  const StoredEvent* second = hub.append(1, s, 1700000000124);
  REQUIRE(second);
  CHECK(second->sequence == 1);
  CHECK(second->offset == first->bytes.size());
  proton::message back;
  decode_message(second->bytes, back);
  CHECK(annotation_ms(back, "x-opt-sequence-number") == 1);
  CHECK(annotation_ms(back, "x-opt-enqueued-time") == 1700000000124);
  CHECK(proton::get<std::string>(back.message_annotations().get(proton::symbol("x-opt-offset"))) ==
        std::to_string(first->bytes.size()));
  CHECK(proton::get<std::string>(back.message_annotations().get(proton::symbol("custom"))) ==
        "kept");
  CHECK(proton::get<std::string>(back.id()) == "job-1");
  CHECK(proton::get<int64_t>(back.properties().get("count")) == 42);
  CHECK(back.durable());
  CHECK(hub.partitions()[1].next_offset == first->bytes.size() + second->bytes.size());
  CHECK(hub.partitions()[0].events.empty());
  // An event that already carries one of the three is left to the decoding path (whose
  // stamps replace the sender's), and nothing is stored.
  proton::message stamped = full_message();
  stamped.message_annotations().put(proton::symbol("x-opt-offset"), "999");
  const std::string stamped_bytes = encode_message(stamped);
  REQUIRE(cut_sections(stamped_bytes, s));
  CHECK(!EventHub::can_append(s));
  CHECK(hub.append(1, s, 1700000000125) == nullptr);
  CHECK(hub.partitions()[1].events.size() == 2);
  CHECK(hub.partitions()[1].next_sequence == 2);
}

TEST_CASE("a message without an id gets one in its properties, the rest of them kept") {
  // No properties section at all: a new one holding only the id.
  proton::message bare_message;
  bare_message.body(proton::binary(std::string("payload")));
  const std::string encoded = encode_message(bare_message);
  MessageSections s;
  REQUIRE(cut_sections(encoded, s));
  // Proton writes a properties section even when its fields are all null: left out here, as
  // other senders do.
  const std::string plain = std::string(s.header) + std::string(s.message_annotations) +
                            std::string(s.bare.substr(s.properties.size()));
  REQUIRE(cut_sections(plain, s));
  REQUIRE(s.properties.empty());
  auto given = properties_with_id(s.properties, "given-1");
  REQUIRE(given);
  CHECK(string_message_id(*given) == std::optional<std::string_view>("given-1"));
  proton::message back;
  decode_message(std::string(s.header) + *given + std::string(s.bare), back);
  CHECK(proton::get<std::string>(back.id()) == "given-1");
  CHECK(proton::get<proton::binary>(back.body()) == proton::binary(std::string("payload")));
  // Properties with a null id: the other fields stay as they were.
  proton::message m = full_message();
  m.id(proton::message_id());
  const std::string bytes = encode_message(m);
  REQUIRE(cut_sections(bytes, s));
  REQUIRE(!s.properties.empty());
  given = properties_with_id(s.properties, std::string(300, 'i'));  // a str32
  REQUIRE(given);
  decode_message(std::string(s.header) + std::string(s.message_annotations) + *given +
                     std::string(s.bare.substr(s.properties.size())),
                 back);
  CHECK(proton::get<std::string>(back.id()) == std::string(300, 'i'));
  CHECK(proton::get<std::string>(back.correlation_id()) == "corr");
  CHECK(back.subject() == "Create");
  CHECK(back.content_type() == "application/json");
  CHECK(proton::get<int64_t>(back.properties().get("count")) == 42);
  // An id already there, of any type, is not replaced; a malformed section is refused.
  const std::string with_id = encode_message(full_message());
  REQUIRE(cut_sections(with_id, s));
  CHECK(!properties_with_id(s.properties, "given-2"));
  proton::message numeric;
  numeric.id(uint64_t(7));
  const std::string numeric_bytes = encode_message(numeric);
  REQUIRE(cut_sections(numeric_bytes, s));
  CHECK(!properties_with_id(s.properties, "given-3"));
  CHECK(!properties_with_id(std::string("\x00\x53\x73\xc0\x05\x02\x40", 7), "x"));
}
