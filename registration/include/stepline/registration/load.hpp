// Reading a registration from YAML: one root file plus the files it includes, every problem
// collected (not just the first) with its file:line:col, secrets resolved from the environment
// or from files.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <stepline/registration/model.hpp>

namespace stepline::registration {

/// Thrown by load() when the registration has errors; what() lists every one of them.
class RegistrationError : public std::runtime_error {
 public:
  explicit RegistrationError(std::vector<Problem> problems);

  /// Every problem found, errors and warnings, in file order.
  const std::vector<Problem>& problems() const noexcept { return problems_; }

 private:
  std::vector<Problem> problems_;
};

/// A registration together with everything found wrong with it.
struct LoadResult {
  Registration registration;  ///< as complete as the files allow, even when there are errors
  std::vector<Problem> problems;

  bool has_errors() const;
};

/// Reads and checks `path` and its includes; never throws for problems in the files.
LoadResult read(const std::filesystem::path& path);

/// Reads `path` and its includes; throws RegistrationError when there is any error. Warnings
/// are kept in Registration::warnings.
Registration load(const std::filesystem::path& path);

/// Problems for steps whose plug-in type no loaded library exports, each suggesting the
/// exported type it most likely misspells. `exported_types` come from the plug-in catalog.
std::vector<Problem> check_plugin_types(const Registration& registration,
                                        const std::vector<std::string>& exported_types);

}  // namespace stepline::registration
