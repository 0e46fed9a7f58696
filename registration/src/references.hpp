// Secret references inside registration values: ${env:NAME} reads an environment variable,
// ${file:PATH} reads a file (relative to the YAML file that names it), $${ is a literal "${".
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "mapping.hpp"

namespace stepline::registration::detail {

/// `text` with every reference replaced by its value; nullopt when one cannot be resolved (each
/// such reference is reported at `where`, naming the variable or file, never a value).
std::optional<std::string> resolve_references(std::string_view text,
                                              const std::filesystem::path& base_folder,
                                              const SourceLocation& where, std::string_view field,
                                              Problems& problems);

}  // namespace stepline::registration::detail
