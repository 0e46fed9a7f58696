#include <stepline/plugin.hpp>

namespace stepline {

Plugin::Plugin(std::string unsecure_configuration, std::string secure_configuration)
    : unsecure_(std::move(unsecure_configuration)), secure_(std::move(secure_configuration)) {}
Plugin::~Plugin() = default;

InvalidPluginExecution::InvalidPluginExecution(const std::string& user_message, OperationStatus status,
                                               std::int32_t error_code)
    : std::runtime_error(user_message), status_(status), error_code_(error_code) {}
InvalidPluginExecution::~InvalidPluginExecution() = default;

TracingService::~TracingService() = default;
OrganizationService::~OrganizationService() = default;
NotificationService::~NotificationService() = default;
Services::~Services() = default;

}  // namespace stepline
