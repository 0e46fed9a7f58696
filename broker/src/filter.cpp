#include "filter.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <proton/codec/map.hpp>
#include <proton/scalar.hpp>
#include <proton/types.hpp>
#include <proton/value.hpp>

#include "names.hpp"

namespace stepline::broker {
namespace {

FilterValue from_proton(const proton::scalar& v) {
  using proton::type_id;
  switch (v.type()) {
    case type_id::NULL_TYPE:
      return std::monostate{};
    case type_id::BOOLEAN:
      return proton::get<bool>(v);
    case type_id::STRING:
      return proton::get<std::string>(v);
    case type_id::SYMBOL:
      return std::string(proton::get<proton::symbol>(v));
    case type_id::FLOAT:
      return double(proton::get<float>(v));
    case type_id::DOUBLE:
      return proton::get<double>(v);
    case type_id::TIMESTAMP:
      return int64_t(proton::get<proton::timestamp>(v).milliseconds());
    case type_id::UBYTE:
    case type_id::BYTE:
    case type_id::USHORT:
    case type_id::SHORT:
    case type_id::UINT:
    case type_id::INT:
    case type_id::ULONG:
    case type_id::LONG:
    case type_id::CHAR:
      return proton::coerce<int64_t>(v);
    default:
      return proton::to_string(v);
  }
}

FilterValue from_id(const proton::message_id& id) {
  if (id.empty()) return std::monostate{};
  if (id.type() == proton::type_id::STRING) return proton::get<std::string>(id);
  return proton::to_string(id);
}

FilterValue text_or_null(const std::string& s) {
  if (s.empty()) return std::monostate{};
  return s;
}

}  // namespace

FilterInput::FilterInput(const proton::message& m) {
  system_["messageid"] = from_id(m.id());
  system_["correlationid"] = from_id(m.correlation_id());
  system_["to"] = text_or_null(m.to());
  system_["replyto"] = text_or_null(m.reply_to());
  system_["label"] = text_or_null(m.subject());
  system_["subject"] = text_or_null(m.subject());
  system_["sessionid"] = text_or_null(m.group_id());
  system_["replytosessionid"] = text_or_null(m.reply_to_group_id());
  system_["contenttype"] = text_or_null(m.content_type());
  if (!m.properties().empty()) {
    std::map<std::string, proton::scalar> props;
    proton::get(m.properties().value(), props);
    for (const auto& [key, value] : props) properties_[lower(key)] = from_proton(value);
  }
}

const FilterValue* FilterInput::system(const std::string& name) const {
  auto it = system_.find(lower(name));
  return it == system_.end() ? nullptr : &it->second;
}

const FilterValue* FilterInput::property(const std::string& name) const {
  auto it = properties_.find(lower(name));
  return it == properties_.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------------------------
// SQL filter: a recursive-descent parser to a small tree evaluated with SQL's three-valued logic
// (std::monostate is UNKNOWN).

struct SqlFilter::Node {
  enum class Kind {
    literal,
    system,
    property,
    op_and,
    op_or,
    op_not,
    compare,
    like,
    in,
    is_null,
    exists
  };
  Kind kind;
  FilterValue literal;
  std::string name;  // property name, comparison operator, LIKE pattern
  char escape = 0;
  bool negated = false;
  std::vector<std::unique_ptr<Node>> children;
};

namespace {

using Node = SqlFilter::Node;

struct Token {
  enum Kind { end, identifier, quoted_identifier, string, number, symbol } kind;
  std::string text;
  size_t offset;
};

class Lexer {
 public:
  explicit Lexer(const std::string& s) : s_(s) {}

  std::vector<Token> tokens() {
    std::vector<Token> out;
    while (true) {
      skip_spaces(s_, pos_);
      if (pos_ >= s_.size()) break;
      size_t start = pos_;
      char c = s_[pos_];
      if (c == '\'') {
        out.push_back({Token::string, quoted('\'', '\''), start});
      } else if (c == '"') {
        out.push_back({Token::quoted_identifier, quoted('"', '"'), start});
      } else if (c == '[') {
        out.push_back({Token::quoted_identifier, quoted('[', ']'), start});
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 (c == '.' && pos_ + 1 < s_.size() &&
                  std::isdigit(static_cast<unsigned char>(s_[pos_ + 1])))) {
        while (pos_ < s_.size() &&
               (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.'))
          ++pos_;
        out.push_back({Token::number, s_.substr(start, pos_ - start), start});
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '@') {
        while (pos_ < s_.size()) {
          char d = s_[pos_];
          if (std::isalnum(static_cast<unsigned char>(d)) || d == '_' || d == '$' || d == '@' ||
              d == '-') {
            ++pos_;
          } else if (d == '.' && pos_ + 1 < s_.size() &&
                     (s_[pos_ + 1] == '[' || s_[pos_ + 1] == '"')) {
            // sys.[Name] or user."name": keep the prefix, the quoted part follows as its own token
            ++pos_;
            break;
          } else if (d == '.') {
            ++pos_;
          } else {
            break;
          }
        }
        out.push_back({Token::identifier, s_.substr(start, pos_ - start), start});
      } else {
        static const char* two[] = {"<>", "!=", "<=", ">="};
        std::string sym(1, c);
        for (const char* t : two)
          if (s_.compare(pos_, 2, t) == 0) sym = t;
        if (std::strchr("=<>!(),-", c) == nullptr)
          throw FilterSyntaxError(std::string("unexpected character '") + c + "'", start);
        pos_ += sym.size();
        out.push_back({Token::symbol, sym, start});
      }
    }
    out.push_back({Token::end, "", s_.size()});
    return out;
  }

 private:
  std::string quoted(char open, char close) {
    size_t start = pos_++;
    std::string text;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == close) {
        if (open == close && pos_ < s_.size() && s_[pos_] == close) {
          text += close;  // doubled quote
          ++pos_;
          continue;
        }
        return text;
      }
      text += c;
    }
    throw FilterSyntaxError(std::string("missing closing ") + close, start);
  }

  const std::string& s_;
  size_t pos_ = 0;
};

bool keyword(const Token& t, const char* word) {
  return t.kind == Token::identifier && lower(t.text) == word;
}

class Parser {
 public:
  explicit Parser(const std::string& s) : tokens_(Lexer(s).tokens()) {}

  std::unique_ptr<Node> parse() {
    auto n = parse_or();
    if (peek().kind != Token::end) fail("unexpected '" + peek().text + "'");
    return n;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  Token take() { return tokens_[pos_++]; }
  [[noreturn]] void fail(const std::string& what) const {
    throw FilterSyntaxError(what, peek().offset);
  }
  bool accept_symbol(const char* s) {
    if (peek().kind == Token::symbol && peek().text == s) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool accept_keyword(const char* w) {
    if (keyword(peek(), w)) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect_symbol(const char* s) {
    if (!accept_symbol(s)) fail(std::string("expected '") + s + "'");
  }

  static std::unique_ptr<Node> make(Node::Kind k) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    return n;
  }

  std::unique_ptr<Node> parse_or() {
    auto left = parse_and();
    while (accept_keyword("or")) {
      auto n = make(Node::Kind::op_or);
      n->children.push_back(std::move(left));
      n->children.push_back(parse_and());
      left = std::move(n);
    }
    return left;
  }

  std::unique_ptr<Node> parse_and() {
    auto left = parse_not();
    while (accept_keyword("and")) {
      auto n = make(Node::Kind::op_and);
      n->children.push_back(std::move(left));
      n->children.push_back(parse_not());
      left = std::move(n);
    }
    return left;
  }

  std::unique_ptr<Node> parse_not() {
    if (accept_keyword("not")) {
      auto n = make(Node::Kind::op_not);
      n->children.push_back(parse_not());
      return n;
    }
    return parse_predicate();
  }

  std::unique_ptr<Node> parse_predicate() {
    if (accept_keyword("exists")) {
      expect_symbol("(");
      auto n = make(Node::Kind::exists);
      n->children.push_back(parse_operand());
      if (n->children[0]->kind != Node::Kind::property &&
          n->children[0]->kind != Node::Kind::system)
        fail("EXISTS takes a property name");
      expect_symbol(")");
      return n;
    }
    auto left = parse_operand();
    static const char* ops[] = {"=", "<>", "!=", "<=", ">=", "<", ">"};
    for (const char* op : ops) {
      if (accept_symbol(op)) {
        auto n = make(Node::Kind::compare);
        n->name = std::string(op) == "!=" ? "<>" : op;
        n->children.push_back(std::move(left));
        n->children.push_back(parse_operand());
        return n;
      }
    }
    if (accept_keyword("is")) {
      auto n = make(Node::Kind::is_null);
      n->negated = accept_keyword("not");
      if (!accept_keyword("null")) fail("expected NULL after IS");
      n->children.push_back(std::move(left));
      return n;
    }
    bool negated = accept_keyword("not");
    if (accept_keyword("like")) {
      auto n = make(Node::Kind::like);
      n->negated = negated;
      if (peek().kind != Token::string) fail("LIKE needs a quoted pattern");
      n->name = take().text;
      if (accept_keyword("escape")) {
        if (peek().kind != Token::string || peek().text.size() != 1)
          fail("ESCAPE needs one character");
        n->escape = take().text[0];
      }
      n->children.push_back(std::move(left));
      return n;
    }
    if (accept_keyword("in")) {
      auto n = make(Node::Kind::in);
      n->negated = negated;
      n->children.push_back(std::move(left));
      expect_symbol("(");
      do {
        n->children.push_back(parse_operand());
      } while (accept_symbol(","));
      expect_symbol(")");
      return n;
    }
    if (negated) fail("expected LIKE or IN after NOT");
    return left;
  }

  std::unique_ptr<Node> parse_operand() {
    if (accept_symbol("(")) {
      auto n = parse_or();
      expect_symbol(")");
      return n;
    }
    bool minus = accept_symbol("-");
    Token t = take();
    auto n = make(Node::Kind::literal);
    switch (t.kind) {
      case Token::number: {
        try {
          size_t used = 0;
          if (t.text.find_first_of(".eE") == std::string::npos) {
            n->literal = int64_t(std::stoll(t.text, &used)) * (minus ? -1 : 1);
          } else {
            n->literal = std::stod(t.text, &used) * (minus ? -1 : 1);
          }
          if (used != t.text.size()) throw std::invalid_argument(t.text);
        } catch (const std::exception&) {
          throw FilterSyntaxError("bad number '" + t.text + "'", t.offset);
        }
        return n;
      }
      case Token::string:
        if (minus) break;
        n->literal = t.text;
        return n;
      case Token::quoted_identifier:
        if (minus) break;
        n->kind = Node::Kind::property;
        n->name = t.text;
        return n;
      case Token::identifier: {
        if (minus) break;
        std::string l = lower(t.text);
        if (l == "true" || l == "false") {
          n->literal = l == "true";
          return n;
        }
        if (l == "null") return n;
        if (l == "and" || l == "or" || l == "not" || l == "like" || l == "in" || l == "is")
          throw FilterSyntaxError("expected a property or a value, found '" + t.text + "'",
                                  t.offset);
        std::string name = t.text;
        n->kind = Node::Kind::property;
        if (l.rfind("sys.", 0) == 0) {
          n->kind = Node::Kind::system;
          name = name.substr(4);
        } else if (l.rfind("user.", 0) == 0) {
          name = name.substr(5);
        }
        if (name.empty()) {  // sys.[Name] / user."name"
          if (peek().kind != Token::quoted_identifier) fail("expected a property name");
          name = take().text;
        }
        n->name = name;
        return n;
      }
      default:
        break;
    }
    throw FilterSyntaxError(
        t.kind == Token::end ? "unexpected end of expression" : "unexpected '" + t.text + "'",
        t.offset);
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

bool is_null(const FilterValue& v) {
  return std::holds_alternative<std::monostate>(v);
}

std::optional<double> as_number(const FilterValue& v) {
  if (auto i = std::get_if<int64_t>(&v)) return double(*i);
  if (auto d = std::get_if<double>(&v)) return *d;
  return std::nullopt;
}

// -1/0/1, or nullopt when the values are not comparable (UNKNOWN)
std::optional<int> compare(const FilterValue& a, const FilterValue& b) {
  if (is_null(a) || is_null(b)) return std::nullopt;
  if (auto x = std::get_if<int64_t>(&a))
    if (auto y = std::get_if<int64_t>(&b)) return *x < *y ? -1 : (*x > *y ? 1 : 0);
  auto x = as_number(a), y = as_number(b);
  if (x && y) return *x < *y ? -1 : (*x > *y ? 1 : 0);
  if (auto s = std::get_if<std::string>(&a))
    if (auto t = std::get_if<std::string>(&b)) return s->compare(*t) < 0 ? -1 : (*s == *t ? 0 : 1);
  if (auto p = std::get_if<bool>(&a))
    if (auto q = std::get_if<bool>(&b)) return *p == *q ? 0 : (*p ? 1 : -1);
  return std::nullopt;
}

bool like(const std::string& text, const std::string& pattern, char escape) {
  // iterative wildcard match with backtracking on the last '%'
  size_t t = 0, p = 0, star_p = std::string::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      char c = pattern[p];
      if (escape && c == escape && p + 1 < pattern.size()) {
        if (pattern[p + 1] == text[t]) {
          p += 2;
          ++t;
          continue;
        }
      } else if (c == '%') {
        star_p = p++;
        star_t = t;
        continue;
      } else if (c == '_' || c == text[t]) {
        ++p;
        ++t;
        continue;
      }
    }
    if (star_p == std::string::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

FilterValue negate(const FilterValue& v) {
  if (auto b = std::get_if<bool>(&v)) return !*b;
  return std::monostate{};
}

FilterValue evaluate(const Node& n, const FilterInput& in) {
  using K = Node::Kind;
  switch (n.kind) {
    case K::literal:
      return n.literal;
    case K::system: {
      auto v = in.system(n.name);
      return v ? *v : FilterValue{};
    }
    case K::property: {
      auto v = in.property(n.name);
      return v ? *v : FilterValue{};
    }
    case K::op_not:
      return negate(evaluate(*n.children[0], in));
    case K::op_and:
    case K::op_or: {
      FilterValue a = evaluate(*n.children[0], in), b = evaluate(*n.children[1], in);
      auto pa = std::get_if<bool>(&a), pb = std::get_if<bool>(&b);
      bool dominant = n.kind == K::op_or;  // TRUE decides OR, FALSE decides AND
      if ((pa && *pa == dominant) || (pb && *pb == dominant)) return dominant;
      if (pa && pb) return !dominant;
      return std::monostate{};
    }
    case K::compare: {
      auto c = compare(evaluate(*n.children[0], in), evaluate(*n.children[1], in));
      if (!c) return std::monostate{};
      const std::string& op = n.name;
      if (op == "=") return *c == 0;
      if (op == "<>") return *c != 0;
      if (op == "<") return *c < 0;
      if (op == ">") return *c > 0;
      if (op == "<=") return *c <= 0;
      return *c >= 0;
    }
    case K::like: {
      FilterValue v = evaluate(*n.children[0], in);
      auto s = std::get_if<std::string>(&v);
      if (!s) return std::monostate{};
      return like(*s, n.name, n.escape) != n.negated;
    }
    case K::in: {
      FilterValue v = evaluate(*n.children[0], in);
      if (is_null(v)) return std::monostate{};
      bool found = false;
      for (size_t i = 1; i < n.children.size() && !found; ++i) {
        auto c = compare(v, evaluate(*n.children[i], in));
        found = c && *c == 0;
      }
      return found != n.negated;
    }
    case K::is_null:
      return is_null(evaluate(*n.children[0], in)) != n.negated;
    case K::exists: {
      const Node& p = *n.children[0];
      return (p.kind == K::system ? in.system(p.name) : in.property(p.name)) != nullptr &&
             !is_null(evaluate(p, in));
    }
  }
  return std::monostate{};
}

}  // namespace

SqlFilter::SqlFilter(const std::string& expression) {
  // Service Bus's own limit on a filter's length; it also bounds the depth of the parser's
  // recursion and of the tree that evaluation and destruction walk.
  if (expression.size() > max_expression_length)
    throw FilterSyntaxError("the expression is " + std::to_string(expression.size()) +
                                " characters long; a SQL filter may have at most " +
                                std::to_string(max_expression_length),
                            max_expression_length);
  root_ = Parser(expression).parse();
}
SqlFilter::~SqlFilter() = default;
SqlFilter::SqlFilter(SqlFilter&&) noexcept = default;
SqlFilter& SqlFilter::operator=(SqlFilter&&) noexcept = default;

bool SqlFilter::matches(const FilterInput& input) const {
  FilterValue v = evaluate(*root_, input);
  auto b = std::get_if<bool>(&v);
  return b && *b;
}

SubscriptionFilter SubscriptionFilter::from_config(const SubscriptionConfig& config) {
  SubscriptionFilter f;
  if (config.correlation) {
    f.rule_ = *config.correlation;
  } else if (!config.sql_filter.empty()) {
    f.rule_ = std::make_shared<SqlFilter>(config.sql_filter);
  }
  return f;
}

bool SubscriptionFilter::matches(const FilterInput& input) const {
  if (auto sql = std::get_if<std::shared_ptr<SqlFilter>>(&rule_)) return (*sql)->matches(input);
  if (auto corr = std::get_if<CorrelationFilter>(&rule_)) {
    auto text = [](const FilterValue* v) -> std::optional<std::string> {
      if (!v || is_null(*v)) return std::nullopt;
      if (auto s = std::get_if<std::string>(v)) return *s;
      if (auto i = std::get_if<int64_t>(v)) return std::to_string(*i);
      if (auto b = std::get_if<bool>(v)) return std::string(*b ? "true" : "false");
      if (auto d = std::get_if<double>(v)) return fmt::format("{}", *d);
      return std::nullopt;
    };
    for (const auto& [name, want] : corr->system)
      if (text(input.system(name)) != want) return false;
    for (const auto& [name, want] : corr->properties)
      if (text(input.property(name)) != want) return false;
    return true;
  }
  return true;
}

}  // namespace stepline::broker
