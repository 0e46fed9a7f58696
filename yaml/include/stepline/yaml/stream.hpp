// A YAML text as libyaml reads it: a stream of events, from which a reader builds one small tree
// per item (a step, an endpoint, a queue) and drops it once read. The registration loader reads
// a file this way as it goes, so neither the text nor the document of a registration of 230,000
// steps is ever in memory whole, and each node is a few dozen bytes; a small file (the broker's
// configuration) is read as one tree with read_document().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stepline::yaml {

/// One YAML node: a scalar, a sequence or a mapping, with where it starts (1-based line and
/// column, the column counted in characters).
struct Node {
  enum class Kind : std::uint8_t { null, scalar, sequence, map };

  Kind kind = Kind::null;
  /// A scalar written plain (no quotes, no block): its text is the file's characters from its
  /// line and column on, so a position inside it can be pointed at.
  bool plain = false;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string text;         ///< a scalar's value
  std::vector<Node> items;  ///< a sequence's items; a mapping's keys and values, alternating

  bool is_null() const { return kind == Kind::null; }
  bool is_scalar() const { return kind == Kind::scalar; }
  bool is_sequence() const { return kind == Kind::sequence; }
  bool is_map() const { return kind == Kind::map; }
  std::size_t map_size() const { return items.size() / 2; }
  const Node& key(std::size_t i) const { return items[2 * i]; }
  const Node& value(std::size_t i) const { return items[2 * i + 1]; }
};

/// A syntax error, or input a reader refuses to build a tree for (too deep, aliases that expand
/// too far); line and column are 1-based. An error of the text's encoding (not UTF-8, a control
/// character) has the byte offset instead, and line 0.
struct Error : std::runtime_error {
  Error(const std::string& message, std::uint32_t line, std::uint32_t column,
        std::size_t offset = 0)
      : std::runtime_error(message), line(line), column(column), offset(offset) {}
  std::uint32_t line, column;
  std::size_t offset;
};

/// Reads one YAML text event by event. Functions that read throw Error.
class Stream {
 public:
  /// Deeper nodes are refused: configuration nests about five levels, and trees this deep would
  /// take their destructor's recursion down the stack.
  static constexpr std::size_t max_depth = 64;

  /// Reads `file` (open, at its start) as it goes; the file must stay open while the stream is
  /// read.
  explicit Stream(std::FILE* file);
  /// Reads `text`, which must outlive the stream.
  explicit Stream(std::string_view text);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  enum class Next : std::uint8_t { node, map_end, sequence_end, document_end, stream_end };

  /// Moves to the start of the first document's root; false for an empty stream.
  bool start_document();
  /// True, after another document's start, when the stream holds a further document.
  bool next_document();
  /// What comes next: a node, or the end of the open mapping, sequence, document or stream.
  Next peek();
  /// Enters the mapping or sequence that comes next, without reading its items (true), or
  /// reports that the next node is something else (false, nothing read).
  bool enter_map();
  bool enter_sequence();
  /// Leaves the mapping or sequence whose end peek() reported.
  void leave();
  /// Where the next node or end starts.
  std::uint32_t line();
  std::uint32_t column();
  /// Reads the whole next node.
  Node read();

 private:
  struct Event;
  Event& current();
  void advance();
  void check_expansion(std::size_t added, const Event& at);

  struct Parser;
  std::unique_ptr<Parser> parser_;
  std::unique_ptr<Event> event_;
  /// Anchored nodes, for aliases; kept for the document.
  std::map<std::string, Node, std::less<>> anchors_;
  /// Nodes copied for aliases so far, and the nodes read from the text: aliases may not expand
  /// to many more nodes than the text holds ("billion laughs").
  std::size_t alias_nodes_ = 0;
  std::size_t read_nodes_ = 0;
  std::size_t open_depth_ = 0;
};

/// The first document of `text` as one tree: a null node for an empty text. Throws Error.
Node read_document(std::string_view text);

}  // namespace stepline::yaml
