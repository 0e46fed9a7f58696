// The base class of every plug-in and the macro that exports one.
//
//   class Hello : public stepline::Plugin {
//    public:
//     using Plugin::Plugin;
//     void execute(stepline::ExecutionContext& context, stepline::Services& services) override {
//       services.tracing().trace("hello {}", context.primary_entity_name);
//     }
//   };
//   STEPLINE_PLUGIN(Hello, "Samples.Hello", "1.0.0")
#pragma once

#include <cstdio>
#include <exception>
#include <string>

#include <stepline/api.hpp>
#include <stepline/errors.hpp>
#include <stepline/execution_context.hpp>
#include <stepline/fingerprint.hpp>
#include <stepline/plugin_abi.h>
#include <stepline/services.hpp>

namespace stepline {

/// A plug-in type. One instance serves many executions, possibly on several threads at once:
/// keep per-execution state in the context, not in members.
class STEPLINE_API Plugin {
 public:
  /// Receives the step's configuration: `unsecure` is readable by anyone who can read the
  /// registration, `secure` comes from a secret reference and is never logged.
  Plugin(std::string unsecure_configuration, std::string secure_configuration);
  virtual ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  /// Does the step's work. Throw InvalidPluginExecution to stop the operation with a message
  /// for the caller; any other exception is reported as an unexpected plug-in error.
  virtual void execute(ExecutionContext& context, Services& services) = 0;

  const std::string& unsecure_configuration() const noexcept { return unsecure_; }
  const std::string& secure_configuration() const noexcept { return secure_; }

 private:
  std::string unsecure_;
  std::string secure_;
};

namespace detail {

template <class T>
void* create_plugin(const char* unsecure, const char* secure, char* error, size_t error_size) noexcept {
  try {
    return static_cast<Plugin*>(new T(std::string(unsecure ? unsecure : ""), std::string(secure ? secure : "")));
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "%s", e.what());
  } catch (...) {
    std::snprintf(error, error_size, "unknown exception from the plug-in's constructor");
  }
  return nullptr;
}

template <class T>
void destroy_plugin(void* plugin) noexcept {
  delete static_cast<Plugin*>(plugin);
}

}  // namespace detail
}  // namespace stepline

// Bounds of this library's type table, placed by the linker. Hidden, so that each library sees
// its own table and never another loaded library's; weak, so a library without types links.
extern "C" __attribute__((visibility("hidden"), weak)) const stepline_plugin_type* const
    __start_slptypes[];
extern "C" __attribute__((visibility("hidden"), weak)) const stepline_plugin_type* const
    __stop_slptypes[];

#ifndef STEPLINE_SDK_BUILDING
// The library's descriptor, the one symbol the host looks up. Weak, so that every translation
// unit including this header may define it and the linker keeps one.
extern "C" __attribute__((visibility("default"), weak)) const stepline_descriptor
    stepline_descriptor_v1 = {STEPLINE_ABI_MAJOR,        STEPLINE_ABI_MINOR,
                              sizeof(stepline_descriptor), STEPLINE_SDK_VERSION,
                              STEPLINE_BUILD_FINGERPRINT, __start_slptypes,
                              __stop_slptypes,            {}};
#endif

#define STEPLINE_CAT2_(a, b) a##b
#define STEPLINE_CAT_(a, b) STEPLINE_CAT2_(a, b)

/// Exports `Class` (a stepline::Plugin with a (unsecure, secure) constructor) under `name` and
/// `version`. Use once per plug-in type, at namespace scope, in one source file.
#define STEPLINE_PLUGIN(Class, name, version)                                                  \
  STEPLINE_PLUGIN_AS_(Class, name, version, STEPLINE_CAT_(stepline_type_, __COUNTER__))

#define STEPLINE_PLUGIN_AS_(Class, name, version, id)                                          \
  namespace {                                                                                   \
  const stepline_plugin_type id = {sizeof(stepline_plugin_type), name, version,                \
                                   &::stepline::detail::create_plugin<Class>,                   \
                                   &::stepline::detail::destroy_plugin<Class>};                 \
  __attribute__((used, section("slptypes"))) const stepline_plugin_type* const                 \
      STEPLINE_CAT_(id, _entry) = &id;                                                          \
  }
