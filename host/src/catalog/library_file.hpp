// Facts about a library file the catalog checks before anything in it runs: who may write it,
// and its identity (size, modification time, SHA-256) for the scan cache and registration pins.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace stepline::host::catalog {

struct FileIdentity {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::string sha256;  ///< lower-case hex
  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

/// Size and modification time of `file`, and its SHA-256. Throws std::runtime_error naming the
/// file when it cannot be read.
FileIdentity identify(const std::filesystem::path& file);

/// Why `file` must not be loaded because someone other than its owner could have changed it
/// (the file or its folder is world-writable), or nullopt.
std::optional<std::string> writable_by_others(const std::filesystem::path& file);

}  // namespace stepline::host::catalog
