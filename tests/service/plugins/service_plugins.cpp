// Plug-ins the `stepline serve` tests register: an echo for custom messages (what the caller
// sent and who it ran as), a name check that rejects, a mark on Retrieve results, a gate that
// fails while a file exists (a cause an operator can fix), and a sleep that keeps a worker busy.
#include <chrono>
#include <filesystem>
#include <thread>

#include <stepline/plugin.hpp>

namespace {

using stepline::ExecutionContext;
using stepline::InvalidPluginExecution;
using stepline::Services;
using stepline::Value;

/// Custom message: every input parameter back as an output, with the calling user and the
/// shared variables tag and traceparent when present.
class Echo : public stepline::Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext& context, Services&) override {
    for (const auto& [name, value] : context.input_parameters)
      context.output_parameters.insert_or_assign(name, value);
    context.output_parameters.insert_or_assign("UserId", Value(context.user_id));
    context.output_parameters.insert_or_assign("InitiatingUserId",
                                               Value(context.initiating_user_id));
    for (const char* shared : {"tag", "traceparent"})
      if (auto it = context.shared_variables.find(shared); it != context.shared_variables.end())
        context.output_parameters.insert_or_assign(std::string("shared.") + shared, it->second);
  }
};
STEPLINE_PLUGIN(Echo, "Tests.Echo", "1.0.0")

/// Rejects a record without a name, as a validation plug-in does.
class RequireName : public stepline::Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext& context, Services&) override {
    const auto* target = context.target();
    if (target && !target->contains("name")) throw InvalidPluginExecution("A record needs a name.");
  }
};
STEPLINE_PLUGIN(RequireName, "Tests.RequireName", "1.0.0")

/// Post-operation of Retrieve or RetrieveMultiple: marks the records it returns, so a test can
/// tell the pipeline ran.
class MarkRetrieved : public stepline::Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext& context, Services&) override {
    const Value mark(std::string("Tests.MarkRetrieved"));
    if (auto it = context.output_parameters.find("BusinessEntity");
        it != context.output_parameters.end())
      if (auto* record = it->second.get_if<stepline::Entity>()) record->set("retrieved_by", mark);
    if (auto it = context.output_parameters.find("BusinessEntityCollection");
        it != context.output_parameters.end())
      if (auto* records = it->second.get_if<stepline::EntityCollection>())
        for (auto& record : records->entities) record.set("retrieved_by", mark);
  }
};
STEPLINE_PLUGIN(MarkRetrieved, "Tests.MarkRetrieved", "1.0.0")

/// Fails while the file its configuration names exists: the cause an operator fixes before
/// retrying the job.
class Gate : public stepline::Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext&, Services&) override {
    if (std::filesystem::exists(unsecure_configuration()))
      throw InvalidPluginExecution("the gate is closed: remove " + unsecure_configuration() +
                                   " and retry the job");
  }
};
STEPLINE_PLUGIN(Gate, "Tests.Gate", "1.0.0")

/// Holds its thread for the milliseconds its configuration names.
class Sleep : public stepline::Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext&, Services&) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(unsecure_configuration())));
  }
};
STEPLINE_PLUGIN(Sleep, "Tests.Sleep", "1.0.0")

}  // namespace
