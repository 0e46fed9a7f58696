// The catalog's test plug-in. One source, built several times with defines: a well-behaved type,
// a twin with the same name, a second version, and libraries that abort or hang while loading.
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include <stepline/plugin.hpp>

#ifndef TEST_TYPE_NAME
#define TEST_TYPE_NAME "Tests.Echo"
#endif
#ifndef TEST_TYPE_VERSION
#define TEST_TYPE_VERSION "1.0.0"
#endif

namespace {

#if defined(TEST_ABORT_WHILE_LOADING)
[[maybe_unused]] const int crash_on_load = (std::abort(), 0);
#elif defined(TEST_HANG_WHILE_LOADING)
[[maybe_unused]] const int hang_on_load = [] {
  for (;;) ::pause();
  return 0;
}();
#endif

// Reports its version and configuration in the output parameters, so a test can tell which
// build of the library served it.
class Echo : public stepline::Plugin {
 public:
  Echo(std::string unsecure, std::string secure) : Plugin(std::move(unsecure), std::move(secure)) {
    if (unsecure_configuration() == "fail") {
      throw std::invalid_argument("the configuration 'fail' is refused");
    }
  }

  void execute(stepline::ExecutionContext& context, stepline::Services& services) override {
    context.output_parameters["version"] = TEST_TYPE_VERSION;
    context.output_parameters["configuration"] = unsecure_configuration();
    services.tracing().trace("{} {} ran", TEST_TYPE_NAME, TEST_TYPE_VERSION);
  }
};

}  // namespace

STEPLINE_PLUGIN(Echo, TEST_TYPE_NAME, TEST_TYPE_VERSION)
