#include "sections.hpp"

namespace stepline::broker {

namespace {

constexpr std::uint8_t header_code = 0x70, delivery_annotations_code = 0x71,
                       message_annotations_code = 0x72, properties_code = 0x73,
                       application_properties_code = 0x74, data_code = 0x75,
                       sequence_code = 0x76, value_code = 0x77, footer_code = 0x78;
// The short forms of two types (str8, sym8); the long ones are 0x10 more.
constexpr std::uint8_t string_code = 0xa1, symbol_code = 0xa3;

std::uint8_t byte_at(std::string_view b, size_t i) {
  return static_cast<std::uint8_t>(b[i]);
}

std::uint32_t be32(std::string_view b, size_t i) {
  return std::uint32_t(byte_at(b, i)) << 24 | std::uint32_t(byte_at(b, i + 1)) << 16 |
         std::uint32_t(byte_at(b, i + 2)) << 8 | std::uint32_t(byte_at(b, i + 3));
}

void put_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void put_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

// An AMQP string: str8, or str32 past 255 bytes.
void put_string(std::string& out, std::string_view s) {
  if (s.size() <= 255) {
    out.push_back(static_cast<char>(string_code));
    out.push_back(static_cast<char>(s.size()));
  } else {
    out.push_back(static_cast<char>(string_code + 0x10));
    put_be32(out, static_cast<std::uint32_t>(s.size()));
  }
  out.append(s);
}

// The fixed width of a constructor's value, or -1 (variable width), or -2 (not an AMQP type).
int fixed_width(std::uint8_t code) {
  switch (code) {
    case 0x40:
    case 0x41:
    case 0x42:
    case 0x43:
    case 0x44:
    case 0x45:
      return 0;
    case 0x50:
    case 0x51:
    case 0x52:
    case 0x53:
    case 0x54:
    case 0x55:
    case 0x56:
      return 1;
    case 0x60:
    case 0x61:
      return 2;
    case 0x70:
    case 0x71:
    case 0x72:
    case 0x73:
    case 0x74:
      return 4;
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
    case 0x84:
      return 8;
    case 0x94:
    case 0x98:
      return 16;
    case 0xa0:
    case 0xa1:
    case 0xa3:
    case 0xb0:
    case 0xb1:
    case 0xb3:
    case 0xc0:
    case 0xc1:
    case 0xd0:
    case 0xd1:
    case 0xe0:
    case 0xf0:
      return -1;
    default:
      return -2;
  }
}

size_t value_size_at(std::string_view b, int depth) {
  if (b.empty() || depth > 8) return 0;
  const std::uint8_t code = byte_at(b, 0);
  if (code == 0x00) {  // a described value: descriptor, then the value
    size_t descriptor = value_size_at(b.substr(1), depth + 1);
    if (!descriptor) return 0;
    size_t value = value_size_at(b.substr(1 + descriptor), depth + 1);
    return value ? 1 + descriptor + value : 0;
  }
  const int width = fixed_width(code);
  if (width == -2) return 0;
  size_t total;
  if (width >= 0) {
    total = 1 + static_cast<size_t>(width);
  } else if ((code >> 4) == 0xa || (code >> 4) == 0xc || (code >> 4) == 0xe) {
    if (b.size() < 2) return 0;
    total = 2 + byte_at(b, 1);  // one byte of size
  } else {
    if (b.size() < 5) return 0;
    total = 5 + static_cast<size_t>(be32(b, 1));  // four bytes of size
  }
  return total <= b.size() ? total : 0;
}

// The section descriptor at the start of `b` (0x00 then a small or full ulong): its code and
// where its value starts; false for anything else (a symbolic descriptor among them).
bool section_code(std::string_view b, std::uint8_t& code, size_t& value_at) {
  if (b.size() < 3 || byte_at(b, 0) != 0x00) return false;
  if (byte_at(b, 1) == 0x53) {
    code = byte_at(b, 2);
    value_at = 3;
    return true;
  }
  if (byte_at(b, 1) == 0x80 && b.size() >= 10) {
    for (size_t i = 2; i < 9; ++i)
      if (byte_at(b, i) != 0) return false;
    code = byte_at(b, 9);
    value_at = 10;
    return true;
  }
  return false;
}

// A list or map value's elements (`count` values in `items`); false when `b` is neither.
bool compound(std::string_view b, std::uint8_t list_or_map, std::string_view& items,
              std::uint32_t& count) {
  if (b.empty()) return false;
  const std::uint8_t code = byte_at(b, 0);
  if (list_or_map == 0xc0 && code == 0x45) {  // list0
    items = {};
    count = 0;
    return true;
  }
  if (code == list_or_map && b.size() >= 3) {
    const size_t size = byte_at(b, 1);
    if (size < 1 || 2 + size > b.size()) return false;
    count = byte_at(b, 2);
    items = b.substr(3, size - 1);
    return true;
  }
  if (code == list_or_map + 0x10 && b.size() >= 9) {
    const size_t size = be32(b, 1);
    if (size < 4 || 5 + size > b.size()) return false;
    count = be32(b, 5);
    items = b.substr(9, size - 4);
    return true;
  }
  return false;
}

bool read_bool(std::string_view v, bool& out) {
  switch (byte_at(v, 0)) {
    case 0x40:
      return true;
    case 0x41:
      out = true;
      return true;
    case 0x42:
      out = false;
      return true;
    case 0x56:
      out = byte_at(v, 1) != 0;
      return true;
    default:
      return false;
  }
}

bool read_uint(std::string_view v, std::uint32_t& out) {
  switch (byte_at(v, 0)) {
    case 0x40:
      return true;
    case 0x43:
      out = 0;
      return true;
    case 0x52:
      out = byte_at(v, 1);
      return true;
    case 0x70:
      out = be32(v, 1);
      return true;
    default:
      return false;
  }
}

// The text of the value `v` (`n` bytes) when it is of the type `code` (string_code or
// symbol_code), in its short or long form; empty for any other type.
std::string_view text_of(std::string_view v, size_t n, std::uint8_t code) {
  if (byte_at(v, 0) == code) return v.substr(2, n - 2);
  if (byte_at(v, 0) == code + 0x10) return v.substr(5, n - 5);
  return {};
}

// True when `count` whole values fill `items` exactly.
bool whole_values(std::string_view items, std::uint32_t count) {
  size_t used = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const size_t n = value_size(items.substr(used));
    if (!n) return false;
    used += n;
  }
  return used == items.size();
}

// The annotations map of a message-annotations section: its entries and how many values.
bool annotations_map(std::string_view section, std::string_view& entries, std::uint32_t& count) {
  std::uint8_t code;
  size_t at;
  if (!section_code(section, code, at) || code != message_annotations_code) return false;
  return compound(section.substr(at), 0xc1, entries, count) && count % 2 == 0 &&
         whole_values(entries, count);
}

}  // namespace

size_t value_size(std::string_view b) {
  return value_size_at(b, 0);
}

bool looks_like_message(std::string_view b) {
  std::uint8_t code;
  size_t at;
  return section_code(b, code, at) && code >= header_code && code <= value_code;
}

bool cut_sections(std::string_view bytes, MessageSections& out) {
  out = {};
  size_t pos = 0;
  int last = -1;
  size_t bare_at = bytes.size();
  while (pos < bytes.size()) {
    std::string_view rest = bytes.substr(pos);
    std::uint8_t code;
    size_t at;
    if (!section_code(rest, code, at) || code < header_code || code > footer_code) return false;
    const size_t value = value_size(rest.substr(at));
    if (!value) return false;
    const bool body = code == data_code || code == sequence_code || code == value_code;
    const bool last_body = last == data_code || last == sequence_code || last == value_code;
    if (code < last || (code == last && code != data_code && code != sequence_code) ||
        (body && last_body && code != last) || last == footer_code)
      return false;
    std::string_view section = rest.substr(0, at + value);
    switch (code) {
      case header_code:
        out.header = section;
        break;
      case delivery_annotations_code:
        out.delivery_annotations = section;
        break;
      case message_annotations_code:
        out.message_annotations = section;
        break;
      case properties_code:
        out.properties = section;
        break;
      case application_properties_code:
        out.application_properties = section;
        break;
      default:
        break;
    }
    if (code >= properties_code && bare_at == bytes.size()) bare_at = pos;
    if (code == data_code) {
      std::string_view v = rest.substr(at, value);
      std::string_view payload;
      if (byte_at(v, 0) == 0xa0)
        payload = v.substr(2);
      else if (byte_at(v, 0) == 0xb0)
        payload = v.substr(5);
      else
        return false;
      if (looks_like_message(payload)) out.batch_like = true;
    }
    last = code;
    pos += section.size();
  }
  out.bare = bytes.substr(bare_at);
  return true;
}

bool read_header(std::string_view section, HeaderFields& out) {
  out = {};
  if (section.empty()) return true;
  std::uint8_t code;
  size_t at;
  if (!section_code(section, code, at) || code != header_code) return false;
  std::string_view items;
  std::uint32_t count;
  if (!compound(section.substr(at), 0xc0, items, count)) return false;
  size_t used = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string_view v = items.substr(used);
    const size_t n = value_size(v);
    if (!n) return false;
    used += n;
    bool ok = true;
    switch (i) {
      case 0:
        ok = read_bool(v, out.durable);
        break;
      case 1:
        if (byte_at(v, 0) == 0x50)
          out.priority = byte_at(v, 1);
        else
          ok = byte_at(v, 0) == 0x40;
        break;
      case 2:
        ok = read_uint(v, out.ttl_ms);
        break;
      case 3:
        ok = read_bool(v, out.first_acquirer);
        break;
      case 4:
        ok = read_uint(v, out.delivery_count);
        break;
      default:
        break;  // fields of a later version of the header
    }
    if (!ok) return false;
  }
  return used == items.size();
}

std::string header_section(const HeaderFields& h) {
  std::string fields;
  fields.push_back(static_cast<char>(h.durable ? 0x41 : 0x42));
  fields.push_back(static_cast<char>(0x50));
  fields.push_back(static_cast<char>(h.priority));
  if (h.ttl_ms > 0) {
    fields.push_back(static_cast<char>(0x70));
    put_be32(fields, h.ttl_ms);
  } else {
    fields.push_back(static_cast<char>(0x40));
  }
  fields.push_back(static_cast<char>(h.first_acquirer ? 0x41 : 0x42));
  fields.push_back(static_cast<char>(0x70));
  put_be32(fields, h.delivery_count);
  std::string out{'\x00', '\x53', '\x70', '\xc0'};
  out.push_back(static_cast<char>(fields.size() + 1));  // the count's byte and the fields
  out.push_back(5);
  return out + fields;
}

std::optional<std::string_view> string_message_id(std::string_view properties) {
  std::uint8_t code;
  size_t at;
  if (!section_code(properties, code, at) || code != properties_code) return std::nullopt;
  std::string_view items;
  std::uint32_t count;
  if (!compound(properties.substr(at), 0xc0, items, count) || count == 0) return std::nullopt;
  const size_t n = value_size(items);
  if (!n) return std::nullopt;
  const std::string_view id = text_of(items, n, string_code);
  if (id.empty()) return std::nullopt;
  return id;
}

std::optional<std::string> properties_with_id(std::string_view properties, std::string_view id) {
  std::string_view items;
  std::uint32_t count = 0;
  if (!properties.empty()) {
    std::uint8_t code;
    size_t at;
    if (!section_code(properties, code, at) || code != properties_code ||
        !compound(properties.substr(at), 0xc0, items, count) || !whole_values(items, count))
      return std::nullopt;
    if (count > 0) {  // the first field, the message-id, must be null
      if (byte_at(items, 0) != 0x40) return std::nullopt;
      items.remove_prefix(1);
    }
  }
  std::string fields;
  put_string(fields, id);
  fields.append(items);
  std::string out{'\x00', '\x53', static_cast<char>(properties_code), '\xd0'};
  put_be32(out, static_cast<std::uint32_t>(4 + fields.size()));
  put_be32(out, count > 0 ? count : 1);
  return out + fields;
}

bool string_annotation(std::string_view section, std::string_view key, std::string_view& out) {
  out = {};
  if (section.empty()) return true;
  std::string_view entries;
  std::uint32_t count;
  if (!annotations_map(section, entries, count)) return false;
  size_t used = 0;
  for (std::uint32_t i = 0; i < count; i += 2) {
    // annotations_map checked that every entry is a whole value.
    std::string_view k = entries.substr(used);
    const size_t key_bytes = value_size(k);
    std::string_view v = entries.substr(used + key_bytes);
    const size_t value_bytes = value_size(v);
    used += key_bytes + value_bytes;
    if (text_of(k, key_bytes, symbol_code) != key) continue;
    out = text_of(v, value_bytes, string_code);
    return true;  // the first entry with the key, as a map holds one
  }
  return true;
}

bool can_annotate(std::string_view section, std::initializer_list<std::string_view> keys) {
  if (section.empty()) return true;
  std::string_view entries;
  std::uint32_t count;
  if (!annotations_map(section, entries, count)) return false;
  size_t used = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string_view v = entries.substr(used);
    const size_t n = value_size(v);
    used += n;
    if (i % 2 != 0) continue;  // a value
    const std::string_view key = text_of(v, n, symbol_code);
    for (auto k : keys)
      if (!key.empty() && key == k) return false;
  }
  return true;
}

std::optional<std::string> annotations_with(std::string_view section,
                                            std::initializer_list<Annotation> added) {
  std::string_view entries;
  std::uint32_t count = 0;
  if (!section.empty() && !annotations_map(section, entries, count)) return std::nullopt;
  std::string more;
  for (const auto& a : added) {
    if (a.key.size() > 255) return std::nullopt;
    more.push_back(static_cast<char>(symbol_code));
    more.push_back(static_cast<char>(a.key.size()));
    more.append(a.key);
    if (a.text) {
      put_string(more, *a.text);
      continue;
    }
    more.push_back(static_cast<char>(a.timestamp ? 0x83 : 0x81));
    put_be64(more, static_cast<std::uint64_t>(a.value));
  }
  std::string out{'\x00', '\x53', '\x72', '\xd1'};
  put_be32(out, static_cast<std::uint32_t>(4 + entries.size() + more.size()));
  put_be32(out, count + 2 * static_cast<std::uint32_t>(added.size()));
  out.append(entries);
  out.append(more);
  return out;
}

}  // namespace stepline::broker
