// Execution-context formats, found by name. A format registers its name, the content type of its
// bodies, its writer and its reader once, in the file that defines it; registrations, the host's
// endpoint poster and listeners then ask for it by name, so adding a format changes no list
// elsewhere. The SDK library registers the text formats (dataverse-json, json, xml, cloudevents)
// when it is loaded. The AMQP-typed `binary` format needs Qpid Proton, so it lives in the
// separate stepline_sdk_amqp library and is registered when that library is loaded
// (stepline/format/binary.hpp); a plug-in that never posts binary keeps depending on the standard
// library and fmt only.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/api.hpp>
#include <stepline/execution_context.hpp>
#include <stepline/format/format_error.hpp>

namespace stepline::format {

/// One context format. The views refer to strings with static storage (literals).
struct Format {
  std::string_view name{};          ///< what registrations write: "json", "dataverse-json"
  std::string_view content_type{};  ///< the body's MIME type: "application/json"
  std::string (*write)(const ExecutionContext& context) = nullptr;  ///< the body's bytes
  /// Reads a body; throws FormatError naming the offending field's path.
  ExecutionContext (*read)(std::string_view body) = nullptr;
  std::string_view library{};  ///< who registered it, named when a second registration collides
};

/// How many levels a context document may nest in any format; every reader refuses a deeper one
/// with a FormatError naming the path, so hostile input cannot exhaust the stack (docs/FORMATS.md).
/// A context nests a few levels of its own and one more per parent context, and the host gives a
/// nested operation's context two parents per level (the main operation's and the caller's): the
/// deepest context it builds, at host.max_depth 100, nests about 210 levels.
inline constexpr std::size_t max_nesting = 256;

/// Formats by name. The process has one, global(); a test may build its own.
class STEPLINE_API FormatRegistry {
 public:
  FormatRegistry();
  ~FormatRegistry();
  FormatRegistry(const FormatRegistry&) = delete;
  FormatRegistry& operator=(const FormatRegistry&) = delete;

  /// The process's registry: the SDK's formats, and those of every library loaded since.
  static FormatRegistry& global();

  /// Adds `format`; throws std::logic_error naming both libraries when its name is taken, and
  /// std::invalid_argument when it has no name, writer or reader. Formats are never removed, so
  /// the reference stays valid.
  const Format& add(const Format& format);
  /// The format registered as `name` (exact, lower case), or nullptr.
  const Format* find(std::string_view name) const noexcept;
  /// Like find(), but throws std::invalid_argument listing the registered names.
  const Format& get(std::string_view name) const;
  /// Every registered name, sorted.
  std::vector<std::string_view> names() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Registers a format with the global registry when the library defining it is loaded:
/// `const FormatRegistration xml_format({.name = "xml", ...});` at namespace scope.
struct STEPLINE_API FormatRegistration {
  explicit FormatRegistration(const Format& format);
  const Format& format;  ///< as registered
};

/// FormatRegistry::global().find(name).
STEPLINE_API const Format* find_format(std::string_view name) noexcept;
/// FormatRegistry::global().get(name).
STEPLINE_API const Format& format_named(std::string_view name);
/// Every registered format's name, sorted: what a registration may write after `format:`.
STEPLINE_API std::vector<std::string_view> format_names();

/// The context written in the format registered as `format`.
STEPLINE_API std::string serialize(const ExecutionContext& context, std::string_view format);
/// Reads a body written in the format registered as `format`; throws FormatError naming the
/// offending field's path, and std::invalid_argument when no such format is registered.
STEPLINE_API ExecutionContext parse(std::string_view body, std::string_view format);
/// Throws the FormatError parse() throws for a claim check (stepline/format/claim_check.hpp):
/// it names the blob and how to read it.
[[noreturn]] STEPLINE_API void refuse_claim_check(std::string_view body);

}  // namespace stepline::format
