// The broker's SQL filter parser, as a subscription's `filter:` gives it: every expression is
// either refused with FilterSyntaxError or parsed into a filter that evaluates, to a match or
// not, against a message with system and application properties of each type.
#include <cstdint>
#include <string>

#include <proton/message.hpp>
#include <proton/message_id.hpp>

#include "filter.hpp"

namespace {

proton::message sample_message() {
  proton::message m;
  m.properties().put("http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName", "account");
  m.properties().put("Revenue", int64_t(5000));
  m.properties().put("priority", 2);
  m.properties().put("ratio", 0.5);
  m.properties().put("vip", true);
  m.subject("audit");
  m.correlation_id(std::string("corr-1"));
  m.id(std::string("message-1"));
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stepline::broker;
  static const FilterInput input(sample_message());
  const std::string expression(reinterpret_cast<const char*>(data), size);
  try {
    SqlFilter filter(expression);
    filter.matches(input);
  } catch (const FilterSyntaxError& e) {
    // The offset points into the expression (or just past it) for the error's caret.
    if (e.offset > expression.size() && e.offset != SqlFilter::max_expression_length)
      __builtin_trap();
  }
  return 0;
}
