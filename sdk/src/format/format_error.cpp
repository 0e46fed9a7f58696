#include <stepline/format/format_error.hpp>

namespace stepline::format {

FormatError::FormatError(std::string path, const std::string& message)
    : std::runtime_error(path.empty() ? message : path + ": " + message), path_(std::move(path)) {}
FormatError::~FormatError() = default;

}  // namespace stepline::format
