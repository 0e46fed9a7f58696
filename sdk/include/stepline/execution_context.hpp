// The execution context handed to every step: what operation runs, on which record, for whom,
// and the data the step may read or change. Field names follow the Dataverse
// RemoteExecutionContext so that listeners written for it recognise every member.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <stepline/api.hpp>
#include <stepline/entity.hpp>

namespace stepline {

/// Pipeline stage; the numbers are what registrations store and contexts report.
enum class Stage : int {
  pre_validation = 10,
  pre_operation = 20,
  main_operation = 30,
  post_operation = 40,
};

enum class Mode : int { synchronous = 0, asynchronous = 1 };

/// How the plug-in runs: in the host process, or in a worker process (`isolation: process` in a
/// registration). The numbers are Dataverse's, where 2 is called Sandbox.
enum class IsolationMode : int { none = 1, process = 2 };

/// "pre-validation", "pre-operation", "main-operation", "post-operation".
STEPLINE_API std::string_view to_string(Stage stage) noexcept;
/// "sync" or "async".
STEPLINE_API std::string_view to_string(Mode mode) noexcept;

struct STEPLINE_API ExecutionContext {
  std::string message_name;           ///< "Create", "Update", "Delete" or a custom message
  std::string primary_entity_name;    ///< table logical name, e.g. "account"
  Guid primary_entity_id;
  std::string secondary_entity_name = "none";
  Stage stage = Stage::pre_operation;
  Mode mode = Mode::synchronous;
  int depth = 1;                      ///< 1 for a top-level operation, +1 per nested request

  ParameterCollection input_parameters;   ///< the request, e.g. "Target"; writable at stages 10 and 20
  ParameterCollection output_parameters;  ///< the response, e.g. "id"; available at stage 40
  ParameterCollection shared_variables;   ///< passed from earlier to later steps of one operation
  EntityImageCollection pre_entity_images;
  EntityImageCollection post_entity_images;

  Guid user_id;              ///< whom the step acts for (the step's run-as user when set)
  Guid initiating_user_id;   ///< who started the operation
  Guid business_unit_id;
  Guid organization_id;
  std::string organization_name;
  Guid user_azure_active_directory_object_id;
  Guid initiating_user_azure_active_directory_object_id;
  std::string initiating_user_agent;

  Guid correlation_id;                ///< shared by every nested operation of one request
  std::optional<Guid> request_id;
  Guid operation_id;                  ///< for asynchronous steps, the system job id
  DateTime operation_created_on{};    ///< for asynchronous steps, when the job was created
  EntityReference owning_extension;   ///< the step that produced this context
  std::shared_ptr<const ExecutionContext> parent_context;

  bool is_in_transaction = false;
  bool is_executing_offline = false;
  bool is_offline_playback = false;
  IsolationMode isolation_mode = IsolationMode::none;

  /// The "Target" input parameter as an entity, or nullptr (Delete targets are references).
  const Entity* target() const;
  Entity* target();

  friend STEPLINE_API bool operator==(const ExecutionContext& a, const ExecutionContext& b);
};

}  // namespace stepline
