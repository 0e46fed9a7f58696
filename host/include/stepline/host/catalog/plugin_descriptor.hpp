// What a plug-in library says about itself (its C descriptor, read into plain values), how it is
// read, how it travels from the scanning child to the host as JSON, and whether this host can
// accept it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/plugin_abi.h>

namespace stepline::host::catalog {

struct PluginTypeDescription {
  std::string name;
  std::string version;
  friend bool operator==(const PluginTypeDescription&, const PluginTypeDescription&) = default;
};

struct LibraryDescription {
  std::uint32_t abi_major = 0;
  std::uint32_t abi_minor = 0;
  std::uint32_t struct_size = 0;
  std::string sdk_version;
  std::string fingerprint;
  std::vector<PluginTypeDescription> types;
  friend bool operator==(const LibraryDescription&, const LibraryDescription&) = default;
};

/// Why a library could not be examined. `not_a_plugin` and `load_failed` are answers about the
/// file; the catalog reports them and goes on.
class ExamineError : public std::runtime_error {
 public:
  enum class Kind { not_a_plugin, load_failed };
  ExamineError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

/// The host's own ABI version, SDK version and build fingerprint.
LibraryDescription host_description();

/// Reads a descriptor already in memory. Stops at the first type whose name is missing.
LibraryDescription describe(const stepline_descriptor& descriptor);

/// Examines a library in this process: checks its sections for the Stepline type table, loads it
/// (now, local) and reads its descriptor. Runs the library's static initialisers, so the host
/// calls it only in a child (`stepline plugins scan`). Throws ExamineError.
LibraryDescription examine_library(const std::filesystem::path& file);

/// Why this host refuses a library with `library`'s descriptor (naming `file` and both sides of
/// the mismatch), or nullopt when it accepts it.
std::optional<std::string> incompatibility(const std::filesystem::path& file,
                                           const LibraryDescription& library);

std::string to_json(const LibraryDescription& description);
/// Throws std::runtime_error on text that is not a descriptor written by to_json.
LibraryDescription library_description_from_json(std::string_view json);

}  // namespace stepline::host::catalog
