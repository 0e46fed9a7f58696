// What the catalog tests share: a private plug-in folder per test, the test libraries, services
// that record traces, and a look at which libraries this process has mapped.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <stepline/host/catalog/plugin_catalog.hpp>
#include <stepline/services.hpp>

namespace stepline::testing {

namespace fs = std::filesystem;

/// A folder of its own (mode 0700), removed with everything in it at the end of the test.
class TempFolder {
 public:
  TempFolder() {
    std::string pattern = (fs::temp_directory_path() / "stepline-catalog-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempFolder() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, ec);
    fs::remove_all(path_, ec);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const fs::path& p) const { return path_ / p; }

 private:
  fs::path path_;
};

#ifdef TEST_PLUGIN_DIR
inline fs::path test_plugin(const std::string& name) {
  return fs::path(TEST_PLUGIN_DIR) / (name + ".so");
}
#endif

inline fs::path stepline_executable() {
  return fs::path(STEPLINE_BINARY_DIR) / "bin" / "stepline";
}

#ifdef TEST_PLUGIN_DIR
/// Copies test libraries into `folder/plugins` and returns that folder.
inline fs::path plugin_folder_with(const TempFolder& folder,
                                   const std::vector<std::string>& names) {
  const fs::path plugins = folder / "plugins";
  fs::create_directories(plugins);
  fs::permissions(plugins, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  for (const auto& name : names) {
    fs::copy_file(test_plugin(name), plugins / (name + ".so"),
                  fs::copy_options::overwrite_existing);
  }
  return plugins;
}
#endif

/// Catalog settings for a test folder: the scanner from the build tree and a short timeout.
inline host::catalog::CatalogSettings settings_for(const fs::path& plugin_folder,
                                                   const fs::path& data_folder = {}) {
  host::catalog::CatalogSettings s;
  s.plugin_folder = plugin_folder;
  s.data_folder = data_folder;
  s.scanner = stepline_executable();
  s.scan_timeout = std::chrono::seconds(10);
  return s;
}

inline const host::catalog::CatalogLibrary& library_named(
    const host::catalog::PluginCatalog& catalog, const std::string& file_name) {
  for (const auto& l : catalog.libraries()) {
    if (l.file.filename() == file_name) return l;
  }
  throw std::out_of_range("the catalog did not consider " + file_name);
}

/// True when this process has `file` mapped (a loaded shared library).
inline bool process_maps(const fs::path& file) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(file.string()) != std::string::npos) return true;
  }
  return false;
}

class RecordingTracing : public TracingService {
 public:
  void write(std::string_view line) override { lines.emplace_back(line); }
  std::vector<std::string> lines;
};

class UnavailableOrganization : public OrganizationService {
 public:
  Guid create(const Entity&) override { throw std::logic_error("no organization service here"); }
  Entity retrieve(std::string_view, const Guid&, const ColumnSet&) override {
    throw std::logic_error("no organization service here");
  }
  void update(const Entity&) override { throw std::logic_error("no organization service here"); }
  void remove(std::string_view, const Guid&) override {
    throw std::logic_error("no organization service here");
  }
  EntityCollection retrieve_multiple(const Query&) override {
    throw std::logic_error("no organization service here");
  }
  OrganizationResponse execute(const OrganizationRequest&) override {
    throw std::logic_error("no organization service here");
  }
};

class UnavailableNotification : public NotificationService {
 public:
  std::string post(std::string_view, const ExecutionContext&) override {
    throw std::logic_error("no notification service here");
  }
};

/// Services for a plug-in run in a test: tracing is recorded, the others are not offered.
class TestServices : public Services {
 public:
  TracingService& tracing() override { return tracing_; }
  OrganizationService& organization() override { return organization_; }
  NotificationService& notification() override { return notification_; }
  const std::vector<std::string>& traces() const { return tracing_.lines; }

 private:
  RecordingTracing tracing_;
  UnavailableOrganization organization_;
  UnavailableNotification notification_;
};

}  // namespace stepline::testing
