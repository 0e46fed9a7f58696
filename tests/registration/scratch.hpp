// A temporary folder for registration files written by a test, removed when the test ends.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/registration/load.hpp>

namespace stepline::registration::testing {

class Scratch {
 public:
  Scratch() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "stepline-registration-XXXXXX").string();
    folder_ = mkdtemp(pattern.data());
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(folder_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  /// Writes `text` to `name` inside the folder and returns its path.
  std::filesystem::path write(std::string_view name, std::string_view text) const {
    auto path = folder_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  const std::filesystem::path& folder() const { return folder_; }

 private:
  std::filesystem::path folder_;
};

/// The problems `text` has when read as a registration file.
inline std::vector<Problem> problems_of(const Scratch& scratch, std::string_view text,
                                        std::string_view name = "stepline.yaml") {
  return read(scratch.write(name, text)).problems;
}

/// Only the errors.
inline std::vector<Problem> errors_of(const Scratch& scratch, std::string_view text,
                                      std::string_view name = "stepline.yaml") {
  std::vector<Problem> errors;
  for (auto& p : problems_of(scratch, text, name))
    if (p.severity == Severity::error) errors.push_back(std::move(p));
  return errors;
}

/// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() { unsetenv(name_.c_str()); }

 private:
  std::string name_;
};

}  // namespace stepline::registration::testing
