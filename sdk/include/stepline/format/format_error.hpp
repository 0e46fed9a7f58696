// The error every format parser throws on input it cannot read: it names where in the document
// the problem is, so a listener or an operator can find the offending field.
#pragma once

#include <stdexcept>
#include <string>

#include <stepline/api.hpp>

namespace stepline::format {

class STEPLINE_API FormatError : public std::runtime_error {
 public:
  /// `path` locates the field ("target.attributes.revenue", "InputParameters[0].value"); empty
  /// for the document as a whole. what() is "<path>: <message>", or the message alone.
  FormatError(std::string path, const std::string& message);
  ~FormatError() override;

  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

}  // namespace stepline::format
