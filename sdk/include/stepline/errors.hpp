// The one exception a plug-in throws on purpose: its message reaches the caller unchanged.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include <stepline/api.hpp>

namespace stepline {

/// What the host should do after a plug-in gave up.
enum class OperationStatus {
  failed,  ///< fail the operation (sync) or the system job (async)
  retry,   ///< async only: run the job again later, under the retry policy
};

class STEPLINE_API InvalidPluginExecution : public std::runtime_error {
 public:
  /// Dataverse's ISV-aborted code, reported when a plug-in names none.
  static constexpr std::int32_t default_error_code = -2147220891;

  explicit InvalidPluginExecution(const std::string& user_message,
                                  OperationStatus status = OperationStatus::failed,
                                  std::int32_t error_code = default_error_code);
  ~InvalidPluginExecution() override;

  OperationStatus status() const noexcept { return status_; }
  std::int32_t error_code() const noexcept { return error_code_; }

 private:
  OperationStatus status_;
  std::int32_t error_code_;
};

}  // namespace stepline
