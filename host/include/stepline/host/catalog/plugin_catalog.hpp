// The plug-in catalog: finds the plug-in libraries of a registration, examines each unknown one
// in a child process, refuses the ones this host must not load (saying why), loads the rest and
// creates plug-in instances that keep their library loaded for as long as they live.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/host/catalog/plugin_descriptor.hpp>
#include <stepline/plugin.hpp>
#include <stepline/registration/model.hpp>

namespace boost::dll {
class shared_library;
}

namespace stepline::host::catalog {

struct CatalogSettings {
  /// Every `*.so` directly in this folder is a candidate; empty = only the listed libraries.
  std::filesystem::path plugin_folder;
  /// Holds the scan cache and reloaded copies; empty = scan every library every time.
  std::filesystem::path data_folder;
  /// False for a command that only checks (`stepline validate`): the scan cache is read but
  /// never written, and nothing is created in the data folder.
  bool write_data_folder = true;
  /// The registration's `plugins:` list (relative files resolve against plugin_folder).
  std::vector<registration::PluginLibrary> plugins;
  /// The `stepline` executable that runs `plugins scan`; empty = `stepline` beside this program.
  std::filesystem::path scanner;
  /// How long one library may take to load in the scanning child before it is killed.
  std::chrono::milliseconds scan_timeout{std::chrono::seconds(5)};
  /// Load every library from a copy in the data folder named after its content, never from
  /// the plug-in folder itself: a host that reloads must not have a file mapped that `cp` may
  /// rewrite in place (which would change its running code under it).
  bool load_copies = false;

  static CatalogSettings from(const registration::Registration& registration);
};

enum class LibraryStatus { loaded, refused };
/// "loaded" or "refused".
std::string_view to_string(LibraryStatus status) noexcept;

struct CatalogLibrary {
  std::filesystem::path file;
  LibraryStatus status = LibraryStatus::refused;
  std::string reason;                             ///< refused: why, naming the file and both sides
  std::string sha256;                             ///< empty when the file could not be read
  std::optional<LibraryDescription> description;  ///< what the library declared, when examined
  bool from_scan_cache = false;                   ///< examined in an earlier run, not again now
  std::filesystem::path loaded_from;  ///< the file actually loaded (a copy after reload)
  std::optional<registration::SourceLocation> listed_at;  ///< its `plugins:` entry, if any
};

struct CatalogType {
  std::string name;
  std::string version;
  std::filesystem::path library;
};

/// Immutable once built, so its const members may be called from several threads at once; a
/// reload builds a new catalog from the previous one and the caller swaps them.
class PluginCatalog {
 public:
  /// Scans and loads. A bad library is refused and reported in libraries(), never thrown; a
  /// missing plug-in folder or scanner is bad configuration and throws std::runtime_error.
  explicit PluginCatalog(CatalogSettings settings);
  /// Reloads side by side: a library unchanged since `previous` shares its loaded code, a changed
  /// one is copied to a name derived from its SHA-256 and loaded next to the old version, which
  /// stays mapped while instances created from `previous` live.
  PluginCatalog(CatalogSettings settings, const PluginCatalog& previous);
  ~PluginCatalog();
  PluginCatalog(const PluginCatalog&) = delete;
  PluginCatalog& operator=(const PluginCatalog&) = delete;

  bool has_type(std::string_view name) const;
  /// Loaded plug-in types, by name.
  std::vector<CatalogType> types() const;
  /// The names of the loaded plug-in types, in order.
  std::vector<std::string> type_names() const;
  /// Every library considered, loaded or refused, by path.
  const std::vector<CatalogLibrary>& libraries() const noexcept { return libraries_; }
  const CatalogSettings& settings() const noexcept { return settings_; }

  /// Creates an instance of a loaded type. The instance keeps its library loaded until it is
  /// destroyed (by the library's own destroy function). Throws std::out_of_range for an unknown
  /// type and std::runtime_error when the plug-in's constructor fails.
  std::shared_ptr<Plugin> create(std::string_view type_name,
                                 const std::string& unsecure_configuration,
                                 const std::string& secure_configuration) const;

 private:
  struct LoadedType {
    const stepline_plugin_type* type = nullptr;
    std::shared_ptr<boost::dll::shared_library> library;
    std::filesystem::path file;
    std::string version;
  };
  struct LoadedLibrary {
    std::string sha256;
    std::shared_ptr<boost::dll::shared_library> library;
    std::filesystem::path loaded_from;
  };

  void build(const PluginCatalog* previous);
  /// Why `description`'s types cannot join the loaded ones (a name taken twice), or nullopt.
  std::optional<std::string> type_clash(const std::filesystem::path& file,
                                        const LibraryDescription& description) const;
  /// Loads an examined library and registers its types; returns why not, or nullopt.
  std::optional<std::string> load(CatalogLibrary& entry, const PluginCatalog* previous);

  CatalogSettings settings_;
  std::vector<CatalogLibrary> libraries_;
  std::map<std::string, LoadedType, std::less<>> types_;
  std::map<std::filesystem::path, LoadedLibrary> loaded_;  ///< by original file
};

}  // namespace stepline::host::catalog
