// The value model: every type an attribute, parameter or shared variable can hold.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <stepline/api.hpp>
#include <stepline/date_time.hpp>
#include <stepline/guid.hpp>

namespace stepline {

class Entity;
class EntityCollection;

/// An exact decimal kept as its canonical text ("-12.50"), so no value changes on a round trip.
class STEPLINE_API Decimal {
 public:
  Decimal() : text_("0") {}
  /// Throws std::invalid_argument unless `text` is [-]digits[.digits].
  explicit Decimal(std::string_view text);
  /// Shortest text that reads back as `value`.
  static Decimal from_double(double value);
  const std::string& str() const noexcept { return text_; }
  double to_double() const;
  friend bool operator==(const Decimal&, const Decimal&) = default;

 private:
  std::string text_;
};

/// A currency amount.
struct Money {
  Decimal value;
  friend bool operator==(const Money&, const Money&) = default;
};

/// One choice of a choice (option set) column.
struct OptionSetValue {
  std::int32_t value = 0;
  friend bool operator==(const OptionSetValue&, const OptionSetValue&) = default;
};

/// The choices of a multi-select choice column.
struct OptionSetValueCollection {
  std::vector<std::int32_t> values;
  friend bool operator==(const OptionSetValueCollection&, const OptionSetValueCollection&) = default;
};

/// A pointer to a record: table, id and (optionally) its primary name.
struct EntityReference {
  std::string logical_name;
  Guid id;
  std::string name;
  friend bool operator==(const EntityReference&, const EntityReference&) = default;
};

/// What a Value holds.
enum class ValueKind {
  null,
  string,
  integer,      ///< 32-bit whole number
  big_integer,  ///< 64-bit whole number
  boolean,
  floating,     ///< double
  decimal,
  money,
  option_set,
  multi_option_set,
  date_time,
  guid,
  entity_reference,
  entity,
  entity_collection,
};

/// Lower-case name of a kind ("money", "entity_reference"); the same names the formats use.
STEPLINE_API std::string_view to_string(ValueKind kind) noexcept;

/// Thrown when a Value is read as a type it does not hold.
class STEPLINE_API ValueTypeError : public std::logic_error {
 public:
  ValueTypeError(ValueKind held, ValueKind wanted);
};

/// A dynamically typed value. Copies are deep: an Entity inside a Value is copied with it.
class STEPLINE_API Value {
 public:
  Value() = default;
  Value(std::nullptr_t) {}
  Value(std::string v) : v_(std::move(v)) {}
  Value(std::string_view v) : v_(std::string(v)) {}
  Value(const char* v) : v_(std::string(v)) {}
  Value(std::int32_t v) : v_(v) {}
  Value(std::int64_t v) : v_(v) {}
  Value(bool v) : v_(v) {}
  Value(double v) : v_(v) {}
  Value(Decimal v) : v_(std::move(v)) {}
  Value(Money v) : v_(std::move(v)) {}
  Value(OptionSetValue v) : v_(v) {}
  Value(OptionSetValueCollection v) : v_(std::move(v)) {}
  Value(DateTime v) : v_(v) {}
  Value(Guid v) : v_(v) {}
  Value(EntityReference v) : v_(std::move(v)) {}
  Value(Entity v);
  Value(EntityCollection v);

  Value(const Value& other);
  Value(Value&&) noexcept = default;
  Value& operator=(const Value& other);
  Value& operator=(Value&&) noexcept = default;
  ~Value();

  ValueKind kind() const noexcept { return static_cast<ValueKind>(v_.index()); }
  bool is_null() const noexcept { return kind() == ValueKind::null; }

  /// The held value as T, or nullptr when it holds something else.
  template <class T>
  const T* get_if() const noexcept;
  template <class T>
  T* get_if() noexcept {
    return const_cast<T*>(static_cast<const Value*>(this)->get_if<T>());
  }
  /// The held value as T; throws ValueTypeError when it holds something else.
  template <class T>
  const T& as() const;

  friend STEPLINE_API bool operator==(const Value& a, const Value& b);

 private:
  using Storage = std::variant<std::monostate, std::string, std::int32_t, std::int64_t, bool, double,
                               Decimal, Money, OptionSetValue, OptionSetValueCollection, DateTime,
                               Guid, EntityReference, std::unique_ptr<Entity>,
                               std::unique_ptr<EntityCollection>>;
  Storage v_;
};

/// Named values: input and output parameters, shared variables, attributes.
using ParameterCollection = std::map<std::string, Value, std::less<>>;
using AttributeCollection = ParameterCollection;

template <class T>
const T* Value::get_if() const noexcept {
  if constexpr (std::is_same_v<T, Entity> || std::is_same_v<T, EntityCollection>) {
    auto* p = std::get_if<std::unique_ptr<T>>(&v_);
    return p ? p->get() : nullptr;
  } else {
    return std::get_if<T>(&v_);
  }
}

namespace detail {
template <class T>
constexpr ValueKind kind_of();
}

template <class T>
const T& Value::as() const {
  if (const T* p = get_if<T>()) return *p;
  throw ValueTypeError(kind(), detail::kind_of<T>());
}

namespace detail {
template <class T>
constexpr ValueKind kind_of() {
  if constexpr (std::is_same_v<T, std::string>) return ValueKind::string;
  else if constexpr (std::is_same_v<T, std::int32_t>) return ValueKind::integer;
  else if constexpr (std::is_same_v<T, std::int64_t>) return ValueKind::big_integer;
  else if constexpr (std::is_same_v<T, bool>) return ValueKind::boolean;
  else if constexpr (std::is_same_v<T, double>) return ValueKind::floating;
  else if constexpr (std::is_same_v<T, Decimal>) return ValueKind::decimal;
  else if constexpr (std::is_same_v<T, Money>) return ValueKind::money;
  else if constexpr (std::is_same_v<T, OptionSetValue>) return ValueKind::option_set;
  else if constexpr (std::is_same_v<T, OptionSetValueCollection>) return ValueKind::multi_option_set;
  else if constexpr (std::is_same_v<T, DateTime>) return ValueKind::date_time;
  else if constexpr (std::is_same_v<T, Guid>) return ValueKind::guid;
  else if constexpr (std::is_same_v<T, EntityReference>) return ValueKind::entity_reference;
  else if constexpr (std::is_same_v<T, Entity>) return ValueKind::entity;
  else if constexpr (std::is_same_v<T, EntityCollection>) return ValueKind::entity_collection;
  else static_assert(sizeof(T) == 0, "not a Stepline value type");
}
}  // namespace detail

}  // namespace stepline
