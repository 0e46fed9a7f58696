// Where the pipeline gets plug-in instances from. The plug-in catalog implements it for shared
// libraries; tests implement it with in-process classes.
#pragma once

#include <memory>
#include <string>

#include <stepline/plugin.hpp>
#include <stepline/registration/model.hpp>

namespace stepline::host::pipeline {

class PluginFactory {
 public:
  virtual ~PluginFactory() = default;
  /// A new instance of plug-in `type` configured with the step's configuration. Throws (any
  /// std::exception, with a message naming the type) when the type is unknown or its constructor
  /// fails. The pipeline caches the instance, one per step, and may call it on several threads.
  virtual std::shared_ptr<stepline::Plugin> create(const std::string& type,
                                                   const std::string& unsecure,
                                                   const std::string& secure) = 0;
  /// The instance for `step`, which the pipeline asks for. A factory that can run plug-ins in a
  /// worker process returns a proxy for steps with `isolation: process` (the catalog's factory
  /// does, see isolation/isolated_plugin.hpp); this default creates every plug-in in-process.
  virtual std::shared_ptr<stepline::Plugin> create_for(const registration::Step& step) {
    return create(step.plugin_type, step.unsecure_configuration, step.secure_configuration);
  }
};

}  // namespace stepline::host::pipeline
