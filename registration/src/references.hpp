// Secret references inside registration values: ${env:NAME} reads an environment variable,
// ${file:PATH} reads a file (relative to the YAML file that names it), $${ is a literal "${".
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <stepline/registration/model.hpp>
#include <stepline/yaml/mapping.hpp>

namespace stepline::registration::detail {

/// The largest secret file read (1 MiB): a key, a connection string, a PEM bundle fit many
/// times over; a larger file is a wrong path, not a secret.
constexpr std::uintmax_t max_secret_file_size = 1 << 20;

/// `text` with every reference replaced by its value; nullopt when one cannot be resolved or its
/// value is not UTF-8 text (each such reference is reported at `where`, naming the variable or
/// file, never a value).
std::optional<std::string> resolve_references(std::string_view text,
                                              const std::filesystem::path& base_folder,
                                              const SourceLocation& where, std::string_view field,
                                              yaml::Problems& problems);

}  // namespace stepline::registration::detail
