#include "references.hpp"

#include "untrusted_text.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace stepline::registration::detail {
namespace {

/// A secret is text: it travels in JSON (the worker protocol of isolated steps) and plug-ins
/// receive it as a string, as in Dataverse. The message names where the value came from, never
/// the value.
bool is_text(std::string_view value, const SourceLocation& where, const std::string& field,
             const std::string& source, yaml::Problems& problems) {
  std::size_t bad = input::invalid_utf8_at(value);
  if (bad == std::string_view::npos) return true;
  problems.error(where, field + ": the value of " + source + " is not UTF-8 text (byte " +
                            std::to_string(bad + 1) + " of it); secrets are text");
  return false;
}

/// The content of a secret file, or nullopt (reported) when it is not a readable regular file of
/// at most max_secret_file_size bytes: a FIFO would block the host and /dev/zero never end.
std::optional<std::string> read_secret_file(const std::filesystem::path& path,
                                            const SourceLocation& where, const std::string& field,
                                            yaml::Problems& problems) {
  std::error_code ec;
  const bool regular = std::filesystem::is_regular_file(path, ec);
  const auto size = regular ? std::filesystem::file_size(path, ec) : 0;
  if (regular && !ec && size > max_secret_file_size) {
    problems.error(where, field + ": secret file " + path.string() + " has " +
                              std::to_string(size) + " bytes, more than the " +
                              std::to_string(max_secret_file_size) +
                              " a secret may have; name the file that holds only the secret");
    return std::nullopt;
  }
  std::ifstream in;
  if (regular && !ec) in.open(path, std::ios::binary);
  if (!regular || ec || !in) {
    int error = ec ? ec.value() : errno;
    problems.error(
        where, field + ": secret file " + path.string() + " cannot be read (" +
                   (!regular && !ec ? "not a regular file" : std::strerror(error ? error : EIO)) +
                   "); create it or correct the path");
    return std::nullopt;
  }
  std::ostringstream content;
  content << in.rdbuf();
  return std::move(content).str();
}

}  // namespace

std::optional<std::string> resolve_references(std::string_view text,
                                              const std::filesystem::path& base_folder,
                                              const SourceLocation& where, std::string_view field,
                                              yaml::Problems& problems) {
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
      } else if (is_text(value, where, name, "environment variable " + variable, problems)) {
        out += value;
      } else {
        ok = false;
      }
    } else if (reference.starts_with("file:")) {
      std::filesystem::path path(std::string(reference.substr(5)));
      if (path.empty()) {
        problems.error(where, name + ": ${file:} names no file; write ${file:PATH}");
        ok = false;
        continue;
      }
      if (path.is_relative()) path = (base_folder / path).lexically_normal();
      std::optional<std::string> value = read_secret_file(path, where, name, problems);
      if (!value) {
        ok = false;
        continue;
      }
      // Editors end files with a newline that is not part of the secret.
      while (!value->empty() && (value->back() == '\n' || value->back() == '\r')) value->pop_back();
      if (is_text(*value, where, name, "secret file " + path.string(), problems))
        out += *value;
      else
        ok = false;
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
