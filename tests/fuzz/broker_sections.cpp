// A queue's message as the broker cuts it into sections (broker/src/sections.hpp), whatever the
// bytes: the cutting neither crashes nor reads past them, the sections it finds lie within them
// with the bare message at their end, and a message the broker builds from them (a delivery's
// header, added annotations) cuts again into the same bare message, header and annotations, and
// a string annotation found in them lies within them; a message-id written into properties that
// had none reads back.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "sections.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stepline::broker;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (value_size(bytes) > size) __builtin_trap();
  MessageSections s;
  if (!cut_sections(bytes, s)) return 0;
  auto inside = [&](std::string_view v) {
    return v.empty() || (v.data() >= bytes.data() && v.data() + v.size() <= bytes.data() + size);
  };
  for (auto v : {s.header, s.delivery_annotations, s.message_annotations, s.properties, s.bare})
    if (!inside(v)) __builtin_trap();
  if (s.bare.data() + s.bare.size() != bytes.data() + size) __builtin_trap();
  HeaderFields header;
  if (!read_header(s.header, header)) return 0;
  if (!string_message_id(s.properties)) {
    // A message without an id: one written into its properties reads back, the rest unchanged.
    if (auto given = properties_with_id(s.properties, "fuzz-id")) {
      if (string_message_id(*given) != std::optional<std::string_view>("fuzz-id")) __builtin_trap();
      const std::string with_id = std::string(s.header) + std::string(s.delivery_annotations) +
                                  std::string(s.message_annotations) + *given +
                                  std::string(s.bare.substr(s.properties.size()));
      MessageSections again;
      if (!cut_sections(with_id, again) || again.properties != *given) __builtin_trap();
    }
  }
  std::string_view key;
  if (string_annotation(s.message_annotations, "x-opt-partition-key", key) && !inside(key))
    __builtin_trap();
  if (!can_annotate(s.message_annotations, {"x-opt-sequence-number", "x-opt-offset"})) return 0;
  auto annotations = annotations_with(
      s.message_annotations, {{"x-opt-sequence-number", false, 1}, {"x-opt-offset", false, 0, "12"}});
  if (!annotations) __builtin_trap();  // a map can_annotate accepted
  header.delivery_count = 2;
  const std::string rebuilt = header_section(header) + std::string(s.delivery_annotations) +
                              *annotations + std::string(s.bare);
  MessageSections again;
  if (!cut_sections(rebuilt, again) || again.bare != s.bare) __builtin_trap();
  HeaderFields back;
  if (!read_header(again.header, back) || back.delivery_count != 2 ||
      back.ttl_ms != header.ttl_ms || back.priority != header.priority)
    __builtin_trap();
  if (can_annotate(again.message_annotations, {"x-opt-sequence-number"})) __builtin_trap();
  if (!string_annotation(again.message_annotations, "x-opt-offset", key) || key != "12")
    __builtin_trap();
  return 0;
}
