#include <stepline/yaml/mapping.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

#include <stepline/duration.hpp>
#include <stepline/text.hpp>

namespace stepline::yaml {
namespace {

/// What node() returns for a key that is absent.
const Node absent;

/// YAML 1.1's words for true and false.
std::optional<bool> boolean_of(std::string_view text) {
  for (std::string_view t :
       {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
    if (text == t) return true;
  for (std::string_view f :
       {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})
    if (text == f) return false;
  return std::nullopt;
}

}  // namespace

std::string kind_of(const Node& node) {
  switch (node.kind) {
    case Node::Kind::map:
      return "a mapping";
    case Node::Kind::sequence:
      return "a list";
    case Node::Kind::null:
      return "nothing";
    default:
      return "a single value";
  }
}

const Node* value_of(const Node& map, std::string_view key) {
  if (!map.is_map()) return nullptr;
  for (std::size_t i = 0; i < map.map_size(); ++i)
    if (map.key(i).is_scalar() && map.key(i).text == key) return &map.value(i);
  return nullptr;
}

std::optional<std::string> name_of(const Node& map) {
  const Node* name = value_of(map, "name");
  if (!name || !name->is_scalar() || name->text.empty()) return std::nullopt;
  return name->text;
}

std::optional<std::string> text_of(const Node& node, const std::string& file,
                                   const std::string& field, std::string_view expected,
                                   Problems& problems) {
  if (node.is_scalar()) return node.text;
  problems.error(location_of(file, node),
                 field + ": expected " + std::string(expected) + ", found " + kind_of(node));
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> duration_of(std::string_view text, BareNumber bare) {
  std::string_view number = stepline::text::trim(text);
  if (bare == BareNumber::seconds && !number.empty() &&
      number.find_first_not_of("0123456789") == std::string_view::npos)
    return parse_duration(std::string(number) + "s");
  return parse_duration(text);
}

bool check_key(const Node& key, const std::string& file, const std::string& what,
               const std::vector<std::string_view>& allowed, std::vector<std::string>& seen,
               Problems& problems) {
  Location key_where = location_of(file, key);
  if (!key.is_scalar()) {
    problems.error(key_where, "keys of " + what + " must be plain names");
    return false;
  }
  const std::string& name = key.text;
  if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
    problems.error(key_where, "'" + name + "' appears twice in " + what + "; keep one of them");
    return false;
  }
  seen.push_back(name);
  if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) return true;
  std::string message = "unknown key '" + name + "' in " + what;
  if (auto suggestion = closest(name, allowed))
    message += "; did you mean '" + *suggestion + "'?";
  else
    message += "; the keys allowed here are " + join(allowed, ", ");
  problems.error(key_where, std::move(message));
  return false;
}

std::size_t edit_distance(std::string_view a_text, std::string_view b_text) {
  const std::string a = text::lower(a_text), b = text::lower(b_text);
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string_view>& candidates) {
  // A third of the word's length (at least 2) catches typos and swapped words without
  // suggesting unrelated keys for short words.
  std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (auto candidate : candidates) {
    std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(candidate);
    }
  }
  return best;
}

std::string join(const std::vector<std::string_view>& words, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) out += separator;
    out += words[i];
  }
  return out;
}

Mapping::Mapping(const Node& node, std::string file, std::string what, std::string prefix,
                 std::vector<std::string_view> keys, Problems& problems)
    : node_(node),
      file_(std::move(file)),
      what_(std::move(what)),
      prefix_(std::move(prefix)),
      problems_(problems) {
  if (!node_.is_map()) {
    std::string name = prefix_.empty() ? what_ : prefix_.substr(0, prefix_.size() - 1);
    problems_.error(where(), name + " must be a mapping of keys to values, found " +
                                 kind_of(node_) + "; write it as 'key: value' lines");
    return;
  }
  ok_ = true;
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < node_.map_size(); ++i)
    check_key(node_.key(i), file_, what_, keys, seen, problems_);
}

Location Mapping::where() const {
  return location_of(file_, node_);
}

Location Mapping::where(std::string_view key) const {
  const Node& value = node(key);
  if (&value == &absent) return where();
  return location_of(file_, value);
}

const Node& Mapping::node(std::string_view key) const {
  if (!ok_) return absent;
  // The first of repeated keys counts (the others are reported).
  const Node* value = value_of(node_, key);
  return value ? *value : absent;
}

bool Mapping::has(std::string_view key) const {
  return !node(key).is_null();
}

bool Mapping::require(std::string_view key, std::string_view hint) {
  if (!ok_) return false;
  if (!has(key)) {
    problems_.error(where(), what_ + " needs '" + field(key) + "'; " + std::string(hint));
    return false;
  }
  const Node& value = node(key);
  if (value.is_scalar() && value.text.empty()) {
    problems_.error(where(key), field(key) + ": must not be empty; " + std::string(hint));
    return false;
  }
  return true;
}

std::optional<std::string> Mapping::scalar(std::string_view key, std::string_view expected) {
  if (!has(key)) return std::nullopt;
  return text_of(node(key), file_, field(key), expected, problems_);
}

std::optional<std::string> Mapping::text(std::string_view key) {
  return scalar(key, "a single value");
}

std::optional<long long> Mapping::integer(std::string_view key, long long min, long long max) {
  auto value = scalar(key, "a whole number");
  if (!value) return std::nullopt;
  long long n = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec != std::errc{} || end != value->data() + value->size()) {
    problems_.error(where(key), field(key) + ": '" + *value +
                                    "' is not a whole number; write e.g. " +
                                    std::to_string(std::clamp(1LL, min, max)));
    return std::nullopt;
  }
  if (n < min || n > max) {
    problems_.error(where(key), field(key) + ": " + *value + " is out of range; use " +
                                    std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::optional<double> Mapping::number(std::string_view key, double min, double max) {
  auto value = scalar(key, "a number");
  if (!value) return std::nullopt;
  char* end = nullptr;
  double n = std::strtod(value->c_str(), &end);
  if (value->empty() || end != value->c_str() + value->size()) {
    problems_.error(where(key), field(key) + ": '" + *value + "' is not a number");
    return std::nullopt;
  }
  if (n < min || n > max) {
    problems_.error(where(key), fmt::format("{}: {} is out of range; use {} to {}", field(key),
                                            *value, min, max));
    return std::nullopt;
  }
  return n;
}

std::optional<bool> Mapping::boolean(std::string_view key) {
  auto value = scalar(key, "true or false");
  if (!value) return std::nullopt;
  if (auto b = boolean_of(*value)) return b;
  problems_.error(where(key), field(key) + ": '" + *value + "' is not true or false");
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> Mapping::duration(std::string_view key, BareNumber bare) {
  auto value = scalar(key, "a duration");
  if (!value) return std::nullopt;
  if (auto d = duration_of(*value, bare)) return d;
  problems_.error(where(key), field(key) + ": '" + *value +
                                  "' is not a duration; write a number with a unit, e.g. 500ms, "
                                  "30s, 10m or 1h");
  return std::nullopt;
}

std::optional<Guid> Mapping::guid(std::string_view key) {
  auto value = scalar(key, "a guid");
  if (!value) return std::nullopt;
  if (auto g = Guid::try_parse(*value)) return g;
  problems_.error(where(key), field(key) + ": '" + *value +
                                  "' is not a guid; write xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
  return std::nullopt;
}

std::optional<std::vector<std::string>> Mapping::names(std::string_view key) {
  if (!has(key)) return std::nullopt;
  const Node& value = node(key);
  std::vector<std::string> out;
  auto add = [&](std::string_view text) {
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t comma = text.find(',', start);
      if (comma == std::string_view::npos) comma = text.size();
      std::string name(stepline::text::trim(text.substr(start, comma - start)));
      if (!name.empty()) out.push_back(std::move(name));
      start = comma + 1;
    }
  };
  if (value.is_scalar()) {
    add(value.text);
    return out;
  }
  if (value.is_sequence()) {
    bool ok = true;
    for (const auto& item : value.items) {
      if (!item.is_scalar()) {
        problems_.error(location_of(file_, item),
                        field(key) + ": every entry must be a name, found " + kind_of(item));
        ok = false;
        continue;
      }
      add(item.text);
    }
    if (!ok) return std::nullopt;
    return out;
  }
  problems_.error(where(key),
                  field(key) + ": expected a list of names or 'a, b, c', found " + kind_of(value));
  return std::nullopt;
}

std::vector<const Node*> Mapping::list(std::string_view key) {
  std::vector<const Node*> out;
  if (!has(key)) return out;
  const Node& value = node(key);
  if (!value.is_sequence()) {
    problems_.error(where(key), field(key) + ": expected a list, found " + kind_of(value) +
                                    "; write each entry on a line starting with '- '");
    return out;
  }
  for (const auto& item : value.items) out.push_back(&item);
  return out;
}

std::optional<std::size_t> Mapping::size(std::string_view key) {
  auto value = scalar(key, "a size");
  if (!value) return std::nullopt;
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  const std::string_view unit = stepline::text::trim_start(
      std::string_view(end, static_cast<std::size_t>(value->data() + value->size() - end)));
  std::size_t scale = unit.empty() ? 1 : unit == "KiB" ? 1024 : unit == "MiB" ? 1024 * 1024 : 0;
  if (ec != std::errc{} || end == value->data() || scale == 0 || n == 0) {
    problems_.error(where(key), field(key) + ": '" + *value +
                                    "' is not a size; write a positive number of bytes, or one "
                                    "with KiB or MiB (e.g. 256KiB)");
    return std::nullopt;
  }
  return n * scale;
}

void Mapping::report_choice(std::string_view key, const std::string& value,
                            const std::vector<std::string_view>& allowed) {
  problems_.error(where(key), field(key) + ": '" + value + "' is not allowed; use one of " +
                                  join(allowed, ", "));
}

}  // namespace stepline::yaml
