#include <stepline/value.hpp>

#include <charconv>
#include <cstdlib>

#include <stepline/entity.hpp>

namespace stepline {

Decimal::Decimal(std::string_view text) : text_(text) {
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++int_digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++frac_digits;
    if (frac_digits == 0) int_digits = 0;
  }
  if (i != text.size() || int_digits == 0)
    throw std::invalid_argument("'" + std::string(text) + "' is not a decimal (expected digits with an optional '.')");
  if (text_.front() == '+') text_.erase(0, 1);
}

Decimal Decimal::from_double(double value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
  std::string text(buf, end);
  return Decimal(text);
}

double Decimal::to_double() const { return std::strtod(text_.c_str(), nullptr); }

std::string_view to_string(ValueKind kind) noexcept {
  switch (kind) {
    case ValueKind::null: return "null";
    case ValueKind::string: return "string";
    case ValueKind::integer: return "int";
    case ValueKind::big_integer: return "bigint";
    case ValueKind::boolean: return "bool";
    case ValueKind::floating: return "double";
    case ValueKind::decimal: return "decimal";
    case ValueKind::money: return "money";
    case ValueKind::option_set: return "optionset";
    case ValueKind::multi_option_set: return "multioptionset";
    case ValueKind::date_time: return "datetime";
    case ValueKind::guid: return "guid";
    case ValueKind::entity_reference: return "entityreference";
    case ValueKind::entity: return "entity";
    case ValueKind::entity_collection: return "entitycollection";
  }
  return "unknown";
}

ValueTypeError::ValueTypeError(ValueKind held, ValueKind wanted)
    : std::logic_error("value holds " + std::string(to_string(held)) + ", not " + std::string(to_string(wanted))) {}

Value::Value(Entity v) : v_(std::make_unique<Entity>(std::move(v))) {}
Value::Value(EntityCollection v) : v_(std::make_unique<EntityCollection>(std::move(v))) {}
Value::~Value() = default;

Value::Value(const Value& other) {
  std::visit(
      [this](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::unique_ptr<Entity>> ||
                      std::is_same_v<T, std::unique_ptr<EntityCollection>>) {
          v_ = std::make_unique<typename T::element_type>(*x);
        } else {
          v_ = x;
        }
      },
      other.v_);
}

Value& Value::operator=(const Value& other) {
  if (this != &other) {
    Value copy(other);
    v_ = std::move(copy.v_);
  }
  return *this;
}

bool operator==(const Value& a, const Value& b) {
  if (a.v_.index() != b.v_.index()) return false;
  return std::visit(
      [&b](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        const auto& y = std::get<T>(b.v_);
        if constexpr (std::is_same_v<T, std::unique_ptr<Entity>> ||
                      std::is_same_v<T, std::unique_ptr<EntityCollection>>) {
          return *x == *y;
        } else if constexpr (std::is_same_v<T, std::monostate>) {
          return true;
        } else {
          return x == y;
        }
      },
      a.v_);
}

}  // namespace stepline
