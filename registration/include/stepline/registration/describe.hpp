// A registration as text for people and scripts: YAML or JSON with secrets masked as "***",
// and the differences between two registrations (what a deploy would add, remove or change).
#pragma once

#include <string>
#include <vector>

#include <stepline/registration/model.hpp>

namespace stepline::registration {

/// The resolved registration as YAML that load() reads back (secrets shown as "***").
std::string to_yaml(const Registration& registration);
/// The same content as JSON.
std::string to_json(const Registration& registration);

/// One difference between two registrations.
struct Difference {
  enum class Kind { added, removed, changed };
  Kind kind;
  std::string item;                  ///< "step 'name'", "endpoint 'name'", "plug-in 'file'", "host"
  std::vector<std::string> changes;  ///< for `changed`: "stage: pre-operation -> post-operation"
};

/// What changes when `after` replaces `before`. Secret changes are reported without values.
std::vector<Difference> diff(const Registration& before, const Registration& after);

}  // namespace stepline::registration
