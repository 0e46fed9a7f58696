#include <stepline/host/catalog/plugin_catalog.hpp>

#include <dlfcn.h>
#include <stdlib.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <boost/dll/shared_library.hpp>

#include <stepline/host/log.hpp>
#include <stepline/host/process/child_process.hpp>
#include <stepline/text.hpp>

#include "library_file.hpp"
#include "scan_cache.hpp"

namespace stepline::host::catalog {
namespace fs = std::filesystem;

namespace {

struct Candidate {
  std::optional<std::string> sha256_pin;
  std::optional<registration::SourceLocation> listed_at;
};

fs::path normal_absolute(const fs::path& p) {
  return fs::absolute(p).lexically_normal();
}

std::map<fs::path, Candidate> find_candidates(const CatalogSettings& settings) {
  std::map<fs::path, Candidate> candidates;
  if (!settings.plugin_folder.empty()) {
    std::error_code ec;
    if (!fs::is_directory(settings.plugin_folder, ec)) {
      throw std::runtime_error(fmt::format(
          "the plug-in folder {} does not exist or is not a folder; create it or correct "
          "host.plugin_folder in the registration",
          settings.plugin_folder.string()));
    }
    for (const auto& entry : fs::directory_iterator(settings.plugin_folder)) {
      if (entry.path().extension() == ".so" && entry.is_regular_file()) {
        candidates[normal_absolute(entry.path())];
      }
    }
  }
  for (const auto& listed : settings.plugins) {
    const fs::path file = listed.file.is_relative() && !settings.plugin_folder.empty()
                              ? settings.plugin_folder / listed.file
                              : listed.file;
    Candidate& c = candidates[normal_absolute(file)];
    if (listed.sha256) c.sha256_pin = text::lower(*listed.sha256);
    c.listed_at = listed.where;
  }
  return candidates;
}

fs::path default_scanner() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("stepline") : self.parent_path() / "stepline";
}

// Runs `stepline plugins scan FILE` and turns its answer into a record.
ScanRecord scan_in_child(const fs::path& scanner, const fs::path& file,
                         std::chrono::milliseconds timeout, bool& cacheable) {
  ScanRecord record;
  cacheable = true;
  const process::ChildResult child =
      process::run_child({scanner.string(), "plugins", "scan", file.string()}, timeout);
  if (child.succeeded()) {
    try {
      record.description = library_description_from_json(child.out);
    } catch (const std::exception& e) {
      record.failure =
          fmt::format("{}: the scanner's answer could not be read ({})", file.string(), e.what());
      cacheable = false;
    }
  } else if (child.timed_out) {
    // A busy machine may be the cause: try again next time rather than remember it.
    cacheable = false;
    record.failure = fmt::format(
        "{}: did not finish loading within {:.1f} s and was stopped (it hangs in its static "
        "initialisers or while loading); the library was skipped",
        file.string(), timeout.count() / 1000.0);
  } else if (child.signal != 0) {
    record.failure = fmt::format(
        "{}: crashed while loading, ended by {}; the library was skipped — check its static "
        "initialisers",
        file.string(), child.describe_end(timeout));
  } else {
    // The scanner's last line says why (it names the file).
    std::string why = child.err;
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    if (const auto nl = why.rfind('\n'); nl != std::string::npos) why.erase(0, nl + 1);
    if (why.empty())
      why =
          fmt::format("{}: the scanner ended with {}", file.string(), child.describe_end(timeout));
    record.failure = why;
  }
  return record;
}

// True when this process has `file` loaded under that name.
bool already_open(const fs::path& file) {
  void* handle = ::dlopen(file.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (handle) ::dlclose(handle);
  return handle != nullptr;
}

// The folder for reloaded copies: in the data folder, or else private to this process.
fs::path copies_folder(const fs::path& data_folder) {
  if (!data_folder.empty()) {
    fs::create_directories(data_folder / "reloaded");
    return data_folder / "reloaded";
  }
  static const fs::path private_folder = [] {
    std::string pattern = (fs::temp_directory_path() / "stepline-reloaded-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
      throw std::runtime_error("cannot create a folder for reloaded plug-in libraries");
    }
    return fs::path(pattern);
  }();
  return private_folder;
}

// Copies `file` to `<folder>/<stem>.<sha256 prefix>.so` and checks that the copy has the content
// the catalog examined; an existing copy is reused only when its content matches.
fs::path content_addressed_copy(const fs::path& file, const std::string& sha256,
                                const fs::path& data_folder) {
  const fs::path copy =
      copies_folder(data_folder) / (file.stem().string() + "." + sha256.substr(0, 16) + ".so");
  if (fs::exists(copy) && identify(copy).sha256 == sha256) return copy;
  const fs::path partial = copy.string() + ".partial";
  fs::copy_file(file, partial, fs::copy_options::overwrite_existing);
  if (identify(partial).sha256 != sha256) {
    fs::remove(partial);
    throw std::runtime_error("it changed while it was being copied for loading");
  }
  fs::rename(partial, copy);
  return copy;
}

// Loads `path`. A copy (`is_copy`) is removed once the library is unloaded: nothing in this
// process runs it any more, and one that needs it again copies it again.
std::shared_ptr<boost::dll::shared_library> open_library(const fs::path& path, bool is_copy) {
  auto* library = new boost::dll::shared_library(
      path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  return std::shared_ptr<boost::dll::shared_library>(library, [path, is_copy](auto* l) {
    delete l;
    std::error_code ec;
    if (is_copy) fs::remove(path, ec);
  });
}

// Everything decided before any code of the library runs in this process: the file's checks,
// its examination (cached or in a child) and the host's compatibility rules. Fills `entry`; on
// refusal sets its reason and returns false.
bool examine(const Candidate& candidate, ScanCache& cache, const fs::path& scanner,
             std::chrono::milliseconds timeout, CatalogLibrary& entry) {
  const fs::path& file = entry.file;
  auto refuse = [&](std::string reason) {
    entry.reason = std::move(reason);
    return false;
  };
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    return refuse(
        fmt::format("{}: not found{}; correct the path or remove the entry", file.string(),
                    candidate.listed_at ? " (listed at " + candidate.listed_at->str() + ")" : ""));
  }
  if (auto why = writable_by_others(file)) return refuse(*why);
  FileIdentity identity;
  try {
    identity = identify(file);
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  entry.sha256 = identity.sha256;
  if (candidate.sha256_pin && *candidate.sha256_pin != identity.sha256) {
    return refuse(
        fmt::format("{}: its SHA-256 is {} but the registration pins {} (at {}); update the "
                    "pin if the new library is trusted, or restore the pinned one",
                    file.string(), identity.sha256, *candidate.sha256_pin,
                    candidate.listed_at ? candidate.listed_at->str() : "plugins:"));
  }

  const ScanRecord* record = cache.find(file.string(), identity);
  entry.from_scan_cache = record != nullptr;
  if (!record) {
    if (!fs::exists(scanner, ec)) {
      throw std::runtime_error(fmt::format(
          "cannot examine plug-in library {}: the scanner {} does not exist; install `stepline` "
          "next to this program or set the catalog's scanner",
          file.string(), scanner.string()));
    }
    bool cacheable = true;
    ScanRecord scanned = scan_in_child(scanner, file, timeout, cacheable);
    if (!cacheable) return refuse(scanned.failure);
    scanned.identity = identity;
    cache.put(file.string(), std::move(scanned));
    record = cache.find(file.string(), identity);
  }
  if (!record->description) return refuse(record->failure);
  entry.description = record->description;
  if (auto why = incompatibility(file, *record->description)) return refuse(*why);
  return true;
}

}  // namespace

std::string_view to_string(LibraryStatus status) noexcept {
  return status == LibraryStatus::loaded ? "loaded" : "refused";
}

CatalogSettings CatalogSettings::from(const registration::Registration& registration) {
  CatalogSettings s;
  s.plugin_folder = registration.host.plugin_folder;
  s.data_folder = registration.host.data_folder;
  s.plugins = registration.plugins;
  return s;
}

PluginCatalog::PluginCatalog(CatalogSettings settings) : settings_(std::move(settings)) {
  build(nullptr);
}

PluginCatalog::PluginCatalog(CatalogSettings settings, const PluginCatalog& previous)
    : settings_(std::move(settings)) {
  build(&previous);
}

PluginCatalog::~PluginCatalog() = default;

void PluginCatalog::build(const PluginCatalog* previous) {
  const auto candidates = find_candidates(settings_);
  ScanCache cache(settings_.data_folder.empty() ? fs::path()
                                                : settings_.data_folder / "plugin-scan-cache.json");
  const fs::path scanner = settings_.scanner.empty() ? default_scanner() : settings_.scanner;

  for (const auto& [file, candidate] : candidates) {
    CatalogLibrary entry;
    entry.file = file;
    entry.listed_at = candidate.listed_at;
    if (examine(candidate, cache, scanner, settings_.scan_timeout, entry)) {
      if (auto clash = type_clash(file, *entry.description)) {
        entry.reason = std::move(*clash);
      } else if (auto failure = load(entry, previous)) {
        entry.reason = std::move(*failure);
      } else {
        entry.status = LibraryStatus::loaded;
      }
    }
    if (entry.status == LibraryStatus::refused) {
      log::warn("plug-in library refused: {}", entry.reason);
    } else {
      log::debug("plug-in library loaded: {} ({} types)", file.string(),
                 entry.description->types.size());
    }
    libraries_.push_back(std::move(entry));
  }
  if (settings_.write_data_folder) cache.save();
}

std::optional<std::string> PluginCatalog::type_clash(const fs::path& file,
                                                     const LibraryDescription& description) const {
  std::set<std::string> own;
  for (const auto& t : description.types) {
    if (!own.insert(t.name).second) {
      return fmt::format("{}: declares plug-in type '{}' twice; give each type its own name",
                         file.string(), t.name);
    }
    if (auto it = types_.find(t.name); it != types_.end()) {
      return fmt::format(
          "{}: plug-in type '{}' is already provided by {}; remove one of the two libraries or "
          "rename the type in one of them",
          file.string(), t.name, it->second.file.string());
    }
  }
  return std::nullopt;
}

std::optional<std::string> PluginCatalog::load(CatalogLibrary& entry,
                                               const PluginCatalog* previous) {
  const fs::path& file = entry.file;
  // Share an unchanged library with the previous catalog. A changed one, or one whose path this
  // process still has open (an older version), is loaded from a copy named after its content,
  // because dlopen of an open path returns the old code.
  LoadedLibrary loaded;
  loaded.sha256 = entry.sha256;
  loaded.loaded_from = file;
  const LoadedLibrary* before = nullptr;
  if (previous) {
    if (auto it = previous->loaded_.find(file); it != previous->loaded_.end()) before = &it->second;
  }
  try {
    if (before && before->sha256 == entry.sha256) {
      loaded = *before;
    } else {
      if (settings_.load_copies || before || already_open(file)) {
        loaded.loaded_from = content_addressed_copy(
            file, entry.sha256, settings_.write_data_folder ? settings_.data_folder : fs::path());
      }
      loaded.library = open_library(loaded.loaded_from, loaded.loaded_from != file);
    }
  } catch (const std::exception& e) {
    return fmt::format("{}: cannot be loaded: {}", file.string(), e.what());
  }
  // The file may have changed since the scan: trust only what this very mapping declares.
  if (!loaded.library->has(STEPLINE_DESCRIPTOR_SYMBOL)) {
    return fmt::format("{}: exports no '{}' any more; it changed after it was examined",
                       file.string(), STEPLINE_DESCRIPTOR_SYMBOL);
  }
  const auto& descriptor =
      loaded.library->get<const stepline_descriptor>(STEPLINE_DESCRIPTOR_SYMBOL);
  if (describe(descriptor) != *entry.description) {
    return fmt::format(
        "{}: changed after it was examined (its descriptor differs); the library was skipped "
        "and is examined again next time",
        file.string());
  }
  for (auto it = descriptor.types_begin; it != descriptor.types_end; ++it) {
    types_[(*it)->name] =
        LoadedType{*it, loaded.library, file, (*it)->version ? (*it)->version : ""};
  }
  entry.loaded_from = loaded.loaded_from;
  loaded_[file] = std::move(loaded);
  return std::nullopt;
}

bool PluginCatalog::has_type(std::string_view name) const {
  return types_.find(name) != types_.end();
}

std::vector<CatalogType> PluginCatalog::types() const {
  std::vector<CatalogType> out;
  for (const auto& [name, t] : types_) out.push_back({name, t.version, t.file});
  return out;
}

std::vector<std::string> PluginCatalog::type_names() const {
  std::vector<std::string> out;
  for (const auto& entry : types_) out.push_back(entry.first);
  return out;
}

std::shared_ptr<Plugin> PluginCatalog::create(std::string_view type_name,
                                              const std::string& unsecure_configuration,
                                              const std::string& secure_configuration) const {
  auto it = types_.find(type_name);
  if (it == types_.end()) {
    throw std::out_of_range(fmt::format(
        "no loaded plug-in library provides type '{}'; check the type name, and `stepline "
        "plugins list` for refused libraries",
        type_name));
  }
  const LoadedType& t = it->second;
  char error[512] = "";
  void* raw = t.type->create(unsecure_configuration.c_str(), secure_configuration.c_str(), error,
                             sizeof error);
  if (!raw) {
    throw std::runtime_error(fmt::format("plug-in type '{}' ({}) could not be created: {}",
                                         it->first, t.file.string(),
                                         error[0] ? error : "no reason given"));
  }
  // The deleter owns a reference to the library: the plug-in's destructor runs first, then the
  // library may go.
  return std::shared_ptr<Plugin>(
      static_cast<Plugin*>(raw),
      [library = t.library, destroy = t.type->destroy](Plugin* p) { destroy(p); });
}

}  // namespace stepline::host::catalog
