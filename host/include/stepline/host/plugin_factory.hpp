// Where the pipeline gets plug-in instances from. The plug-in catalog implements it for shared
// libraries; tests implement it with in-process classes.
#pragma once

#include <memory>
#include <string>

#include <stepline/plugin.hpp>

namespace stepline::host {

class PluginFactory {
 public:
  virtual ~PluginFactory() = default;
  /// A new instance of plug-in `type` configured with the step's configuration. Throws (any
  /// std::exception, with a message naming the type) when the type is unknown or its constructor
  /// fails. The pipeline caches the instance, one per step, and may call it on several threads.
  virtual std::shared_ptr<stepline::Plugin> create(const std::string& type,
                                                   const std::string& unsecure,
                                                   const std::string& secure) = 0;
};

}  // namespace stepline::host
