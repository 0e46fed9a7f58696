// Subscription filters: the Service Bus SQL filter subset and correlation filters, evaluated
// against a message's system and application properties.
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>

#include <proton/message.hpp>

#include "config.hpp"

namespace stepline::broker {

/// A filter operand: null (unknown/missing), bool, integer, floating or text.
using FilterValue = std::variant<std::monostate, bool, int64_t, double, std::string>;

/// The properties of one message, looked up case-insensitively; built once per routed message.
class FilterInput {
 public:
  explicit FilterInput(const proton::message& m);
  /// `sys.<name>` properties: MessageId, CorrelationId, To, ReplyTo, Label/Subject, SessionId, ...
  const FilterValue* system(const std::string& name) const;
  /// Application properties (`user.<name>` or bare names).
  const FilterValue* property(const std::string& name) const;

 private:
  std::map<std::string, FilterValue> system_;      // lower-case keys
  std::map<std::string, FilterValue> properties_;  // lower-case keys
};

/// A parse error in a SQL filter; `offset` is the character position in the expression.
class FilterSyntaxError : public std::runtime_error {
 public:
  FilterSyntaxError(const std::string& what, size_t offset)
      : std::runtime_error(what), offset(offset) {}
  size_t offset;
};

class SqlFilter {
 public:
  /// The longest expression accepted, in bytes (Service Bus allows 1,024 characters).
  static constexpr size_t max_expression_length = 1024;
  /// Parses `expression`; throws FilterSyntaxError.
  explicit SqlFilter(const std::string& expression);
  ~SqlFilter();
  SqlFilter(SqlFilter&&) noexcept;
  SqlFilter& operator=(SqlFilter&&) noexcept;
  /// True only when the expression evaluates to TRUE (unknown counts as no match).
  bool matches(const FilterInput& input) const;
  struct Node;

 private:
  std::unique_ptr<Node> root_;
};

/// The rule of one subscription: accept all, a SQL expression or a correlation filter.
class SubscriptionFilter {
 public:
  static SubscriptionFilter from_config(const SubscriptionConfig& config);
  bool matches(const FilterInput& input) const;
  /// No rule: every message matches, without its properties being read.
  bool accepts_all() const { return std::holds_alternative<std::monostate>(rule_); }

 private:
  std::variant<std::monostate, std::shared_ptr<SqlFilter>, CorrelationFilter> rule_;
};

}  // namespace stepline::broker
