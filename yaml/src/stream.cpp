#include <stepline/yaml/stream.hpp>

#include <yaml.h>

#include <algorithm>
#include <new>
#include <utility>

namespace stepline::yaml {

struct Stream::Parser {
  yaml_parser_t parser;
};

struct Stream::Event {
  yaml_event_t event;
  bool loaded = false;
};

namespace {

std::string_view view(const yaml_char_t* text, std::size_t length) {
  return {reinterpret_cast<const char*>(text), length};
}

std::string_view view(const yaml_char_t* text) {
  return text ? std::string_view(reinterpret_cast<const char*>(text)) : std::string_view();
}

/// A plain `~`, `null` or nothing is YAML's null; quoted, the same text is a string.
bool is_null_scalar(const yaml_event_t& e) {
  if (e.data.scalar.tag && view(e.data.scalar.tag) != "tag:yaml.org,2002:null") return false;
  if (e.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  std::string_view text = view(e.data.scalar.value, e.data.scalar.length);
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

/// The number of nodes in `node` and its depth (1 for a scalar).
std::pair<std::size_t, std::size_t> size_and_depth(const Node& node) {
  std::size_t count = 1, depth = 0;
  for (const auto& item : node.items) {
    auto [c, d] = size_and_depth(item);
    count += c;
    depth = std::max(depth, d);
  }
  return {count, depth + 1};
}

}  // namespace

Stream::Stream(std::FILE* file) : parser_(new Parser), event_(new Event) {
  if (!yaml_parser_initialize(&parser_->parser)) throw std::bad_alloc();
  yaml_parser_set_input_file(&parser_->parser, file);
  yaml_parser_set_encoding(&parser_->parser, YAML_UTF8_ENCODING);
}

Stream::Stream(std::string_view text) : parser_(new Parser), event_(new Event) {
  if (!yaml_parser_initialize(&parser_->parser)) throw std::bad_alloc();
  yaml_parser_set_input_string(&parser_->parser,
                               reinterpret_cast<const unsigned char*>(text.data()), text.size());
  yaml_parser_set_encoding(&parser_->parser, YAML_UTF8_ENCODING);
}

Stream::~Stream() {
  if (event_->loaded) yaml_event_delete(&event_->event);
  yaml_parser_delete(&parser_->parser);
}

Stream::Event& Stream::current() {
  if (event_->loaded) return *event_;
  yaml_parser_t& p = parser_->parser;
  if (!yaml_parser_parse(&p, &event_->event)) {
    std::string message = p.problem ? p.problem : "the text cannot be read as YAML";
    if (p.error == YAML_READER_ERROR) throw Error(message, 0, 0, p.problem_offset);
    if (p.context) message += std::string(" (") + p.context + ")";
    throw Error(message, static_cast<std::uint32_t>(p.problem_mark.line + 1),
                static_cast<std::uint32_t>(p.problem_mark.column + 1));
  }
  event_->loaded = true;
  return *event_;
}

void Stream::advance() {
  current();
  yaml_event_delete(&event_->event);
  event_->loaded = false;
}

std::uint32_t Stream::line() {
  return static_cast<std::uint32_t>(current().event.start_mark.line + 1);
}

std::uint32_t Stream::column() {
  return static_cast<std::uint32_t>(current().event.start_mark.column + 1);
}

bool Stream::start_document() {
  if (current().event.type == YAML_STREAM_START_EVENT) advance();
  if (current().event.type != YAML_DOCUMENT_START_EVENT) return false;
  advance();
  return true;
}

bool Stream::next_document() {
  if (current().event.type == YAML_DOCUMENT_END_EVENT) advance();
  return current().event.type == YAML_DOCUMENT_START_EVENT;
}

Stream::Next Stream::peek() {
  switch (current().event.type) {
    case YAML_MAPPING_END_EVENT:
      return Next::map_end;
    case YAML_SEQUENCE_END_EVENT:
      return Next::sequence_end;
    case YAML_DOCUMENT_END_EVENT:
      return Next::document_end;
    case YAML_STREAM_END_EVENT:
      return Next::stream_end;
    default:
      return Next::node;
  }
}

bool Stream::enter_map() {
  if (current().event.type != YAML_MAPPING_START_EVENT) return false;
  ++open_depth_;
  advance();
  return true;
}

bool Stream::enter_sequence() {
  if (current().event.type != YAML_SEQUENCE_START_EVENT) return false;
  ++open_depth_;
  advance();
  return true;
}

void Stream::leave() {
  --open_depth_;
  advance();
}

void Stream::check_expansion(std::size_t added, const Event& at) {
  alias_nodes_ += added;
  if (alias_nodes_ <= std::max<std::size_t>(100000, read_nodes_)) return;
  throw Error(
      "aliases (*name) expand to " + std::to_string(alias_nodes_) +
          " nodes, more than the file holds; write the values out instead of nesting aliases",
      static_cast<std::uint32_t>(at.event.start_mark.line + 1),
      static_cast<std::uint32_t>(at.event.start_mark.column + 1));
}

Node Stream::read() {
  struct Open {
    Node node;
    std::string anchor;
  };
  // An explicit stack, not recursion: the depth is checked before it grows.
  std::vector<Open> open;
  for (;;) {
    Event& ev = current();
    const yaml_event_t& e = ev.event;
    Node done;
    std::string anchor;
    done.line = static_cast<std::uint32_t>(e.start_mark.line + 1);
    done.column = static_cast<std::uint32_t>(e.start_mark.column + 1);
    switch (e.type) {
      case YAML_SCALAR_EVENT:
        if (!is_null_scalar(e)) {
          done.kind = Node::Kind::scalar;
          done.plain = e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
          done.text = view(e.data.scalar.value, e.data.scalar.length);
        }
        anchor = view(e.data.scalar.anchor);
        ++read_nodes_;
        break;
      case YAML_ALIAS_EVENT: {
        std::string_view name = view(e.data.alias.anchor);
        auto found = anchors_.find(name);
        if (found == anchors_.end())
          throw Error("the alias *" + std::string(name) +
                          " names no anchor (&name) written before it in this file",
                      done.line, done.column);
        auto [count, depth] = size_and_depth(found->second);
        if (open_depth_ + open.size() + depth > max_depth)
          throw Error("nested more than " + std::to_string(max_depth) + " levels deep", done.line,
                      done.column);
        check_expansion(count, ev);
        const auto line = done.line, column = done.column;
        done = found->second;
        done.line = line;
        done.column = column;
        break;
      }
      case YAML_MAPPING_START_EVENT:
      case YAML_SEQUENCE_START_EVENT: {
        if (open_depth_ + open.size() + 1 > max_depth)
          throw Error("nested more than " + std::to_string(max_depth) + " levels deep", done.line,
                      done.column);
        const bool map = e.type == YAML_MAPPING_START_EVENT;
        done.kind = map ? Node::Kind::map : Node::Kind::sequence;
        anchor = view(map ? e.data.mapping_start.anchor : e.data.sequence_start.anchor);
        ++read_nodes_;
        open.push_back({std::move(done), std::move(anchor)});
        advance();
        continue;
      }
      case YAML_MAPPING_END_EVENT:
      case YAML_SEQUENCE_END_EVENT:
        done = std::move(open.back().node);
        anchor = std::move(open.back().anchor);
        open.pop_back();
        break;
      default:
        throw Error("a value is missing here", done.line, done.column);
    }
    advance();
    if (!anchor.empty()) anchors_.insert_or_assign(std::move(anchor), done);
    if (open.empty()) return done;
    open.back().node.items.push_back(std::move(done));
  }
}

Node read_document(std::string_view text) {
  Stream stream(text);
  if (!stream.start_document()) return {};
  return stream.read();
}

}  // namespace stepline::yaml
