#include <stepline/plugin.hpp>

class Hello : public stepline::Plugin {
 public:
  using Plugin::Plugin;  // receives the step's unsecure and secure configuration

  void execute(stepline::ExecutionContext& context, stepline::Services& services) override {
    services.tracing().trace("{} of {} {}", context.message_name, context.primary_entity_name,
                             context.primary_entity_id.str());
  }
};

STEPLINE_PLUGIN(Hello, "Samples.Hello", "1.0.0")
