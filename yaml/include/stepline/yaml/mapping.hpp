// Reading one YAML mapping field by field, typed: unknown and repeated keys are reported when the
// mapping is opened, every typed read reports its own problem at the value's line and column
// (naming the field and what to write), and nothing stops at the first error. The registration
// and stepline-broker's configuration read their files with it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/guid.hpp>
#include <stepline/yaml/problems.hpp>
#include <stepline/yaml/stream.hpp>

namespace stepline::yaml {

/// "a mapping", "a list", "nothing", "a single value": what a node is, for messages.
std::string kind_of(const Node& node);

/// The value of `key` in `map` (the first, when the key is written twice), or nullptr when `map`
/// is not a mapping or has no such key.
const Node* value_of(const Node& map, std::string_view key);
/// The mapping's `name:`, when it is a single value that is not empty: how messages name an item
/// ("step 'publish'", "queue 'orders'").
std::optional<std::string> name_of(const Node& map);

/// The text of a scalar node, or nullopt after reporting "field: expected `expected`, found …".
std::optional<std::string> text_of(const Node& node, const std::string& file,
                                   const std::string& field, std::string_view expected,
                                   Problems& problems);

/// Whether a duration setting reads a bare number ("30") as seconds. Only stepline-broker's
/// configuration does, as it always has; everywhere else the unit is never guessed.
enum class BareNumber { refused, seconds };

/// stepline::parse_duration(), and with BareNumber::seconds a bare number of seconds.
std::optional<std::chrono::milliseconds> duration_of(std::string_view text,
                                                     BareNumber bare = BareNumber::refused);

/// Checks one key of a mapping named `what` against the `allowed` ones and those `seen` before it
/// (reported: a key that is not a plain name, one written twice, an unknown one with the allowed
/// key it most likely means); true when the key is allowed and new. `seen` gains it.
bool check_key(const Node& key, const std::string& file, const std::string& what,
               const std::vector<std::string_view>& allowed, std::vector<std::string>& seen,
               Problems& problems);

/// Levenshtein distance, for did-you-mean suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);
/// The candidate that `word` most likely misspells, if any is close enough.
std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string_view>& candidates);
std::string join(const std::vector<std::string_view>& words, std::string_view separator);

template <class E>
struct Choice {
  std::string_view text;
  E value;
};

class Mapping {
 public:
  /// `what` names the mapping in messages ("a step", "endpoint 'orders'"); `prefix` is put before
  /// field names ("retry.", "images[0].").
  /// `node` must outlive the mapping.
  Mapping(const Node& node, std::string file, std::string what, std::string prefix,
          std::vector<std::string_view> keys, Problems& problems);

  /// False when the node is not a mapping (already reported).
  bool ok() const { return ok_; }
  Location where() const;
  /// The location of `key`'s value, or of the mapping when the key is absent.
  Location where(std::string_view key) const;
  /// Present with a non-null value.
  bool has(std::string_view key) const;
  /// The value of `key`; a null node when the key is absent.
  const Node& node(std::string_view key) const;
  std::string field(std::string_view key) const { return prefix_ + std::string(key); }
  const std::string& what() const { return what_; }

  /// Reports a missing key; `hint` says what to add. Returns whether the key is present.
  bool require(std::string_view key, std::string_view hint);

  std::optional<std::string> text(std::string_view key);
  std::optional<long long> integer(std::string_view key, long long min, long long max);
  std::optional<double> number(std::string_view key, double min, double max);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::chrono::milliseconds> duration(std::string_view key,
                                                    BareNumber bare = BareNumber::refused);
  std::optional<Guid> guid(std::string_view key);
  /// A list of names or one comma-separated string; blanks dropped.
  std::optional<std::vector<std::string>> names(std::string_view key);
  /// The items of a list; none (reported) when the value is something else, none when absent.
  std::vector<const Node*> list(std::string_view key);
  /// A byte count: a whole number or one with a KiB or MiB suffix.
  std::optional<std::size_t> size(std::string_view key);

  template <class E>
  std::optional<E> choice(std::string_view key, const std::vector<Choice<E>>& choices) {
    auto value = text(key);
    if (!value) return std::nullopt;
    std::vector<std::string_view> allowed;
    for (const auto& c : choices) {
      if (c.text == *value) return c.value;
      allowed.push_back(c.text);
    }
    report_choice(key, *value, allowed);
    return std::nullopt;
  }

 private:
  void report_choice(std::string_view key, const std::string& value,
                     const std::vector<std::string_view>& allowed);
  std::optional<std::string> scalar(std::string_view key, std::string_view expected);

  const Node& node_;
  std::string file_;
  std::string what_;
  std::string prefix_;
  Problems& problems_;
  bool ok_ = false;
};

}  // namespace stepline::yaml
