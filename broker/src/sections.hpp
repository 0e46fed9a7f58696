// An encoded AMQP message cut into its sections without decoding their values. The broker stamps
// its annotations and a delivery's header onto a message this way and passes the bare message
// (properties, application properties, body, footer) on byte for byte as its sender wrote it, as
// AMQP means a bare message to travel. Decoding and encoding the whole message with Proton cost
// the broker two thirds of its CPU per message when messages carry many application properties.
// Whatever these functions do not recognise makes them give up (false, nullopt), and the caller
// falls back to decoding the whole message.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace stepline::broker {

/// The encoded size of the AMQP value that starts `b`; 0 when its constructor is not an AMQP type
/// or the value runs past the end of `b`. Compound values are skipped by their size, unread.
size_t value_size(std::string_view b);

/// True when `b` starts with a section descriptor (0x00, then a small or full ulong from the
/// header's 0x70 to the amqp-value's 0x77): what a batch envelope's data sections hold.
bool looks_like_message(std::string_view b);

/// A message's sections, each the whole encoded section (descriptor included) or empty.
struct MessageSections {
  std::string_view header;
  std::string_view delivery_annotations;
  std::string_view message_annotations;
  std::string_view properties;
  std::string_view application_properties;
  /// From the first section after the message annotations to the end: the bare message.
  std::string_view bare;
  /// A data section of the body holds bytes that look like an encoded message (a batch
  /// envelope's member): such messages take the decoding path.
  bool batch_like = false;
};

/// Cuts `bytes` into its sections; false unless they are well-formed sections with numeric
/// descriptors in the order AMQP gives them, at most one of each before the body.
bool cut_sections(std::string_view bytes, MessageSections& out);

/// The header's fields, defaults where the section leaves them out (or has none).
struct HeaderFields {
  bool durable = false;
  std::uint8_t priority = 4;
  std::uint32_t ttl_ms = 0;  ///< 0 = none
  bool first_acquirer = false;
  std::uint32_t delivery_count = 0;
};
/// Reads a header section (an empty view is a message without one); false when malformed.
bool read_header(std::string_view section, HeaderFields& out);
/// A header section with every field written, delivery-count too even when 0 (the JS SDK
/// reports no delivery count at all otherwise).
std::string header_section(const HeaderFields& h);

/// The message-id of a properties section when it is a non-empty string; nullopt otherwise
/// (no section, no id, or an id of another type).
std::optional<std::string_view> string_message_id(std::string_view properties);

/// A properties section (the whole section) whose message-id is the string `id`: `properties`
/// with its first field set when that field is null or absent, or a new section holding only the
/// id when `properties` is empty. nullopt when `properties` is malformed or already has an id.
std::optional<std::string> properties_with_id(std::string_view properties, std::string_view id);

/// A message annotation the broker adds: a symbol key and a long, timestamp or string value.
struct Annotation {
  std::string_view key;
  bool timestamp = false;  ///< AMQP timestamp (ms since the epoch); else long
  std::int64_t value = 0;
  std::optional<std::string_view> text = std::nullopt;  ///< an AMQP string instead, when set
};
/// True when `section` (a message-annotations section, or empty) is a map whose keys include
/// none of `keys`, so that annotations_with can add them.
bool can_annotate(std::string_view section, std::initializer_list<std::string_view> keys);
/// The value of the annotation with the symbol key `key` in `section` (a message-annotations
/// section, or empty) when it is a string, as Proton reads it; empty when it is absent or not a
/// string. False when `section` is malformed.
bool string_annotation(std::string_view section, std::string_view key, std::string_view& out);
/// `section`'s annotations with `added` after them, as a message-annotations section (a new one
/// when `section` is empty); nullopt when `section` is malformed. Check can_annotate first: a key
/// already there would be written twice.
std::optional<std::string> annotations_with(std::string_view section,
                                            std::initializer_list<Annotation> added);

}  // namespace stepline::broker
