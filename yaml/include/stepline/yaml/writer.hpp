// Writing YAML with libyaml's emitter: block mappings, lists (lists of names on one line), and
// scalars quoted whenever written plain they would read back as something else.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace stepline::yaml {

/// One YAML document, written node by node. Misuse (an end without its begin, text that is not
/// UTF-8) throws std::logic_error.
class Writer {
 public:
  Writer();
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  /// A mapping's items are its keys and values, alternating (both written with text()).
  void begin_map();
  void end_map();
  /// `flow`: on one line, as [a, b, c].
  void begin_list(bool flow = false);
  void end_list();
  /// A string; quoted when plain it would read as null or a boolean.
  void text(std::string_view value);
  /// A number or a boolean, written as it is.
  void plain(std::string_view value);

  /// Ends the document and returns it, ending in a newline.
  std::string finish();

 private:
  struct Emitter;
  void scalar(std::string_view value, bool quoted);
  std::unique_ptr<Emitter> emitter_;
  std::string out_;
};

}  // namespace stepline::yaml
