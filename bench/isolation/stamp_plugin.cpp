// The plug-in both sides of the isolation benchmark run: reads an attribute, writes one back.
#include <stepline/plugin.hpp>

namespace {

class Stamp : public stepline::Plugin {
 public:
  using Plugin::Plugin;
  void execute(stepline::ExecutionContext& context, stepline::Services&) override {
    stepline::Entity* target = context.target();
    const int n = target->get_as<int>("n").value_or(0);
    target->set("n", stepline::Value(n + 1));
  }
};
STEPLINE_PLUGIN(Stamp, "Bench.Stamp", "1.0.0")

}  // namespace
