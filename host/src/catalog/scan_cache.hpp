// Remembers what the scanning child said about each library, keyed by path, size, mtime and
// SHA-256, so that an unchanged library is examined once, not at every start.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <stepline/host/catalog/plugin_descriptor.hpp>

#include "library_file.hpp"

namespace stepline::host::catalog {

struct ScanRecord {
  FileIdentity identity;
  std::optional<LibraryDescription> description;  ///< set when the library was examined
  std::string failure;                            ///< why not, when description is empty
};

class ScanCache {
 public:
  /// Reads `file` when it exists; an unreadable or foreign file is ignored (everything is
  /// scanned again). An empty path keeps the cache in memory only.
  explicit ScanCache(std::filesystem::path file);

  /// The record for `path` when its identity is unchanged.
  const ScanRecord* find(const std::string& path, const FileIdentity& identity);
  void put(const std::string& path, ScanRecord record);
  /// Writes the records found or put since construction (others belong to removed files).
  void save() const;

 private:
  std::filesystem::path file_;
  std::map<std::string, ScanRecord> records_;
  std::set<std::string> used_;
};

}  // namespace stepline::host::catalog
