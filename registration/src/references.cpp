#include "references.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace stepline::registration::detail {

std::optional<std::string> resolve_references(std::string_view text,
                                              const std::filesystem::path& base_folder,
                                              const SourceLocation& where, std::string_view field,
                                              Problems& problems) {
  std::string out;
  bool ok = true;
  const std::string name(field);
  while (!text.empty()) {
    std::size_t dollar = text.find('$');
    out += text.substr(0, dollar);
    if (dollar == std::string_view::npos) break;
    text.remove_prefix(dollar);
    if (text.starts_with("$${")) {
      out += "${";
      text.remove_prefix(3);
      continue;
    }
    if (!text.starts_with("${")) {
      out += '$';
      text.remove_prefix(1);
      continue;
    }
    std::size_t close = text.find('}');
    if (close == std::string_view::npos) {
      problems.error(where, name +
                                ": a reference starting with '${' has no closing '}'; write "
                                "${env:NAME} or ${file:PATH} (or $${ for a literal ${)");
      return std::nullopt;
    }
    std::string_view reference = text.substr(2, close - 2);
    text.remove_prefix(close + 1);
    if (reference.starts_with("env:")) {
      std::string variable(reference.substr(4));
      const char* value = variable.empty() ? nullptr : std::getenv(variable.c_str());
      if (variable.empty()) {
        problems.error(where, name + ": ${env:} names no variable; write ${env:NAME}");
        ok = false;
      } else if (!value) {
        problems.error(where, name + ": environment variable " + variable +
                                  " is not set; export it before running stepline");
        ok = false;
      } else {
        out += value;
      }
    } else if (reference.starts_with("file:")) {
      std::filesystem::path path(std::string(reference.substr(5)));
      if (path.empty()) {
        problems.error(where, name + ": ${file:} names no file; write ${file:PATH}");
        ok = false;
        continue;
      }
      if (path.is_relative()) path = (base_folder / path).lexically_normal();
      std::ifstream in(path, std::ios::binary);
      if (!in || std::filesystem::is_directory(path)) {
        int error = errno;
        problems.error(where, name + ": secret file " + path.string() + " cannot be read (" +
                                  (error ? std::strerror(error) : "not a file") +
                                  "); create it or correct the path");
        ok = false;
        continue;
      }
      std::ostringstream content;
      content << in.rdbuf();
      std::string value = content.str();
      // Editors end files with a newline that is not part of the secret.
      while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
      out += value;
    } else {
      // Only a short kind word is echoed: whatever else sits inside ${...} may be a secret.
      std::size_t colon = reference.find(':');
      std::string kind(reference.substr(0, colon));
      bool word = colon != std::string_view::npos && colon <= 16;
      problems.error(where, name + ": " +
                                (word ? "unknown reference kind '" + kind + "'"
                                      : std::string("a ${...} value is not a reference")) +
                                "; use ${env:NAME} or ${file:PATH} (or $${ for a literal ${)");
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace stepline::registration::detail
