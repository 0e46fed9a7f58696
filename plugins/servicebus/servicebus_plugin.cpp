// Stepline.ServiceBusPlugin: posts the execution context to the service endpoint named by the
// step's configuration, through services.notification(). Registered like any plug-in step, it is
// what Dataverse's out-of-box Service Bus plug-in is; a step may also name the endpoint as its
// handler directly, which does the same without a plug-in.
//
//   - name: Publish account updates
//     message: Update
//     entity: account
//     stage: post-operation
//     mode: async
//     handler:
//       plugin: Stepline.ServiceBusPlugin
//     configuration: account-events      # the endpoint's name
#include <string>
#include <string_view>

#include <stepline/plugin.hpp>
#include <stepline/text.hpp>

namespace {

class ServiceBusPlugin : public stepline::Plugin {
 public:
  ServiceBusPlugin(std::string unsecure, std::string secure)
      : Plugin(std::move(unsecure), std::move(secure)),
        endpoint_(stepline::text::trim(unsecure_configuration())) {
    if (endpoint_.empty())
      throw stepline::InvalidPluginExecution(
          "Stepline.ServiceBusPlugin needs the name of a service endpoint: set the step's "
          "configuration: to one of the names under endpoints:");
  }

  void execute(stepline::ExecutionContext& context, stepline::Services& services) override {
    // Like Dataverse's plug-in, the reply of a two-way listener is not kept, only traced.
    std::string reply = services.notification().post(endpoint_, context);
    services.tracing().trace(
        "posted {} of {} to endpoint '{}'{}", context.message_name, context.primary_entity_name,
        endpoint_, reply.empty() ? "" : " (reply of " + std::to_string(reply.size()) + " bytes)");
  }

 private:
  std::string endpoint_;
};

}  // namespace

STEPLINE_PLUGIN(ServiceBusPlugin, "Stepline.ServiceBusPlugin", "1.0.0")
