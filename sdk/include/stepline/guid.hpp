// A 128-bit identifier in the canonical 8-4-4-4-12 text form, as Dataverse record ids are.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <stepline/api.hpp>

namespace stepline {

class STEPLINE_API Guid {
 public:
  /// The nil guid, 00000000-0000-0000-0000-000000000000.
  constexpr Guid() = default;
  constexpr explicit Guid(const std::array<std::uint8_t, 16>& bytes) : bytes_(bytes) {}

  /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (case-insensitive, optional braces).
  /// Throws std::invalid_argument naming the text on anything else.
  static Guid parse(std::string_view text);
  /// Like parse(), but returns nullopt instead of throwing.
  static std::optional<Guid> try_parse(std::string_view text) noexcept;
  /// A random (version 4) guid.
  static Guid random();

  /// Lower-case canonical text in place: what str() holds, without allocating.
  struct Text {
    char chars[36];
    std::string_view view() const noexcept { return {chars, sizeof chars}; }
    operator std::string_view() const noexcept { return view(); }
  };

  /// Lower-case canonical text.
  std::string str() const;
  Text text() const noexcept;
  bool is_nil() const noexcept { return bytes_ == std::array<std::uint8_t, 16>{}; }
  const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }

  friend auto operator<=>(const Guid&, const Guid&) = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
};

}  // namespace stepline

template <>
struct std::hash<stepline::Guid> {
  std::size_t operator()(const stepline::Guid& g) const noexcept;
};
