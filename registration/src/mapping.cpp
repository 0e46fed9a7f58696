#include "mapping.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

#include <stepline/registration/values.hpp>

namespace stepline::registration::detail {
namespace {

std::string kind_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "a single value";
  }
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

void Problems::error(SourceLocation where, std::string message) {
  list.push_back({std::move(where), std::move(message), Severity::error});
}

void Problems::warning(SourceLocation where, std::string message) {
  list.push_back({std::move(where), std::move(message), Severity::warning});
}

bool Problems::has_errors() const {
  return std::any_of(list.begin(), list.end(),
                     [](const Problem& p) { return p.severity == Severity::error; });
}

SourceLocation location_of(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return {file, 1, 1};
  return {file, mark.line + 1, mark.column + 1};
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                 std::tolower(static_cast<unsigned char>(b[j - 1]))
                             ? 0
                             : 1;
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

Mapping::Mapping(YAML::Node node, std::string file, std::string what, std::string prefix,
                 std::vector<std::string_view> keys, Problems& problems)
    : node_(std::move(node)),
      file_(std::move(file)),
      what_(std::move(what)),
      prefix_(std::move(prefix)),
      problems_(problems) {
  if (!node_.IsMap()) {
    std::string name = prefix_.empty() ? what_ : prefix_.substr(0, prefix_.size() - 1);
    problems_.error(where(), name + " must be a mapping of keys to values, found " +
                                 kind_of(node_) + "; write it as 'key: value' lines");
    return;
  }
  ok_ = true;
  std::vector<std::string> seen;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    SourceLocation key_where = location_of(file_, it->first.Mark());
    if (!it->first.IsScalar()) {
      problems_.error(key_where, "keys of " + what_ + " must be plain names");
      continue;
    }
    const std::string key = it->first.Scalar();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      problems_.error(key_where, "'" + key + "' appears twice in " + what_ + "; keep one of them");
      continue;
    }
    seen.push_back(key);
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    std::string message = "unknown key '" + key + "' in " + what_;
    if (auto suggestion = closest(key, keys))
      message += "; did you mean '" + *suggestion + "'?";
    else
      message += "; the keys allowed here are " + join(keys, ", ");
    problems_.error(key_where, std::move(message));
  }
}

SourceLocation Mapping::where() const {
  return location_of(file_, node_.Mark());
}

SourceLocation Mapping::where(std::string_view key) const {
  YAML::Node value = node(key);
  if (!value) return where();
  return location_of(file_, value.Mark());
}

YAML::Node Mapping::node(std::string_view key) const {
  if (!ok_) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node& map = node_;
  // Iterating keeps the lookup from inserting into the document (operator[] on a non-const
  // node would).
  for (auto it = map.begin(); it != map.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  return YAML::Node(YAML::NodeType::Undefined);
}

bool Mapping::has(std::string_view key) const {
  YAML::Node value = node(key);
  return value && !value.IsNull();
}

bool Mapping::require(std::string_view key, std::string_view hint) {
  if (!ok_) return false;
  if (!has(key)) {
    problems_.error(where(), what_ + " needs '" + field(key) + "'; " + std::string(hint));
    return false;
  }
  YAML::Node value = node(key);
  if (value.IsScalar() && value.Scalar().empty()) {
    problems_.error(where(key), field(key) + ": must not be empty; " + std::string(hint));
    return false;
  }
  return true;
}

std::optional<std::string> Mapping::scalar(std::string_view key, std::string_view expected) {
  if (!has(key)) return std::nullopt;
  YAML::Node value = node(key);
  if (!value.IsScalar()) {
    problems_.error(where(key), field(key) + ": expected " + std::string(expected) + ", found " +
                                    kind_of(value));
    return std::nullopt;
  }
  return value.Scalar();
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
  bool b = false;
  if (YAML::convert<bool>::decode(node(key), b)) return b;
  problems_.error(where(key), field(key) + ": '" + *value + "' is not true or false");
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> Mapping::duration(std::string_view key) {
  auto value = scalar(key, "a duration");
  if (!value) return std::nullopt;
  if (auto d = parse_duration(*value)) return d;
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
  YAML::Node value = node(key);
  std::vector<std::string> out;
  auto add = [&](std::string_view text) {
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t comma = text.find(',', start);
      if (comma == std::string_view::npos) comma = text.size();
      std::string name = trimmed(text.substr(start, comma - start));
      if (!name.empty()) out.push_back(std::move(name));
      start = comma + 1;
    }
  };
  if (value.IsScalar()) {
    add(value.Scalar());
    return out;
  }
  if (value.IsSequence()) {
    bool ok = true;
    for (const auto& item : value) {
      if (!item.IsScalar()) {
        problems_.error(location_of(file_, item.Mark()),
                        field(key) + ": every entry must be a name, found " + kind_of(item));
        ok = false;
        continue;
      }
      add(item.Scalar());
    }
    if (!ok) return std::nullopt;
    return out;
  }
  problems_.error(where(key),
                  field(key) + ": expected a list of names or 'a, b, c', found " + kind_of(value));
  return std::nullopt;
}

std::optional<std::size_t> Mapping::size(std::string_view key) {
  auto value = scalar(key, "a size");
  if (!value) return std::nullopt;
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  std::string_view unit(end, static_cast<std::size_t>(value->data() + value->size() - end));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
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

}  // namespace stepline::registration::detail
