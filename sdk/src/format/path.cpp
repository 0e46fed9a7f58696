#include "path.hpp"

namespace stepline::format {

FormatError::FormatError(std::string path, const std::string& message)
    : std::runtime_error(path.empty() ? message : path + ": " + message), path_(std::move(path)) {}
FormatError::~FormatError() = default;

namespace detail {

std::string Path::str() const {
  if (!parent_) return {};
  std::string out = parent_->str();
  if (is_index_) {
    out += '[';
    out += std::to_string(index_);
    out += ']';
  } else {
    if (!out.empty()) out += '.';
    out += key_;
  }
  return out;
}

void Path::fail(const std::string& message) const {
  throw FormatError(str(), message);
}

}  // namespace detail
}  // namespace stepline::format
