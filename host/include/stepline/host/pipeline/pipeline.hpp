// The execution pipeline: runs one business operation (a message on a record) through the
// registered steps — pre-validation outside the transaction, then pre-operation, the main
// operation (the record store or a registered data provider) and post-operation inside it — and
// queues the asynchronous steps as system jobs in the same commit.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/errors.hpp>
#include <stepline/execution_context.hpp>
#include <stepline/registration/model.hpp>
#include <stepline/services.hpp>

#include <stepline/host/metrics/observer.hpp>
#include <stepline/host/pipeline/plugin_factory.hpp>
#include <stepline/host/store/record_store.hpp>

namespace stepline::host::pipeline {

/// Error codes the host reports (Dataverse's values where one exists).
namespace error_code {
inline constexpr std::int32_t unexpected = -2147220956;        ///< 0x80040224 IsvUnExpected
inline constexpr std::int32_t invalid_argument = -2147220989;  ///< 0x80040203
inline constexpr std::int32_t not_found = -2147220969;         ///< 0x80040217
inline constexpr std::int32_t duplicate = -2147220937;         ///< 0x80040237
inline constexpr std::int32_t infinite_loop = -2147204734;     ///< 0x80044182
inline constexpr std::int32_t configuration = -2147220970;     ///< 0x80040216
}  // namespace error_code

/// An operation failed for a reason other than a plug-in's rejection: a loop, the depth limit, a
/// missing record, a bad request, or an unexpected plug-in error (then with a trace id whose
/// details are in the log). It is an InvalidPluginExecution so that a plug-in whose nested
/// request failed sees the same exception type either way.
class OperationFailed : public InvalidPluginExecution {
 public:
  OperationFailed(const std::string& message, std::int32_t code, std::string trace_id = {});
  ~OperationFailed() override;
  /// Set for unexpected errors: the key to the log entry with the details.
  const std::string& trace_id() const noexcept { return trace_id_; }

 private:
  std::string trace_id_;
};

/// One request: a message and its parameters ("Target", "ColumnSet", bypass options, …).
struct OperationRequest {
  std::string message;
  ParameterCollection parameters;
  std::optional<Guid> user_id;     ///< the caller; empty = host.default_user_id
  std::optional<std::string> tag;  ///< read-only shared variable "tag"
  /// W3C trace context of this operation (its span): the read-only shared variable
  /// "traceparent", sent on every post as the Diagnostic-Id and traceparent properties.
  std::optional<std::string> trace_parent;
  std::optional<Guid> request_id;  ///< empty = a new one
  std::string user_agent;          ///< InitiatingUserAgent
};

enum class Outcome {
  succeeded,
  rejected,         ///< a plug-in stopped it with InvalidPluginExecution
  failed,           ///< anything else: unexpected plug-in error, loop, depth, missing record
  invalid_request,  ///< the request could not be read (intake)
};
/// "succeeded", "rejected", "failed", "invalid-request".
std::string_view to_string(Outcome outcome) noexcept;

struct OperationResponse {
  Outcome outcome = Outcome::succeeded;
  ParameterCollection output_parameters;
  std::string error_message;
  std::int32_t error_code = 0;
  std::string trace_id;             ///< for unexpected errors; look it up in the log
  std::vector<std::string> traces;  ///< plug-ins' trace lines, "step name: text"
  Guid correlation_id;
  Guid request_id;

  bool ok() const noexcept { return outcome == Outcome::succeeded; }
};

class Pipeline {
 public:
  /// Indexes the registration's steps. `notification` posts sync endpoint steps and serves
  /// plug-ins' notification(); without one those fail with a message saying so. `observer`, when
  /// given, hears of every top-level operation and every step as they finish (metrics).
  Pipeline(registration::Registration registration, PluginFactory& factory,
           store::RecordStore& store, NotificationService* notification = nullptr,
           metrics::Observer* observer = nullptr);
  /// The same with a factory the pipeline keeps with the registration (see load()).
  Pipeline(registration::Registration registration, std::shared_ptr<PluginFactory> factory,
           store::RecordStore& store, NotificationService* notification = nullptr,
           metrics::Observer* observer = nullptr);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  /// Runs one top-level operation on the calling thread. Never throws for an operation's
  /// failure: the response says what happened. Several threads may call it at once: their
  /// pre-validation steps run side by side, their transactions (stages 20-40) take turns on the
  /// record store. While the async service that takes the store's jobs at their commit holds
  /// as many as it takes, it first gives the service a moment to catch up: up to 20 ms while
  /// the service finishes jobs, 5 ms when it finishes none, and no wait at all while it stays
  /// stalled so (docs/REQUESTS.md "Durability").
  OperationResponse execute(const OperationRequest& request);
  /// Runs top-level operations one after another on the calling thread, as execute() does each,
  /// but their commits share the store's commit groups without waiting for them
  /// (store::RecordStore::Batch): the responses come back once every operation is committed,
  /// one commit and no thread switch per operation. An operation whose commit failed gets the
  /// failed response execute() would have given it. Each operation's transaction sees those
  /// of the operations before it, which are committed with it or not at all.
  std::vector<OperationResponse> execute_batch(std::span<const OperationRequest> requests);

  /// Runs the plug-in of asynchronous step `step_id` for a system job, on the calling thread,
  /// with the job's frozen context (Mode async, outside any transaction); its nested requests
  /// re-enter this pipeline as synchronous operations at depth + 1. The plug-in's trace lines
  /// are appended to `traces`, also when it throws. Throws what the plug-in threw as
  /// InvalidPluginExecution (its status says retry or fail), OperationFailed for an unexpected
  /// error (with a trace id) or a step that is no longer registered, and StorageFull when a
  /// nested request could not be written for a full disk.
  void run_job(ExecutionContext& context, const Guid& step_id, std::vector<std::string>& traces);

  /// Swaps in a new registration (re-indexes, new plug-in instances from the same factory);
  /// operations already running finish on the old one. Throws std::invalid_argument, and swaps
  /// nothing, for a step that cannot run (as the constructor does).
  void load(registration::Registration registration);
  /// The same with the plug-ins of a new factory (a new catalog's): the pipeline keeps it with
  /// the registration, and releases it when the last operation that started on this
  /// registration has finished and the next registration has been swapped in.
  void load(registration::Registration registration, std::shared_ptr<PluginFactory> factory);

  /// The record store its operations write (and queue their jobs in).
  store::RecordStore& store() noexcept { return store_; }

  /// The registration in use.
  std::shared_ptr<const registration::Registration> registration() const;

  struct Snapshot;
  struct Chain;
  struct Caller;

 private:
  friend class Operation;
  friend class StepServices;
  ParameterCollection run(Chain& chain, const Caller& caller, const std::string& message,
                          ParameterCollection inputs);
  /// execute() without telling the observer.
  OperationResponse respond(const OperationRequest& request);
  /// Waits a little while the async service taking the store's jobs at their commit has no
  /// room for `jobs` more (RecordStore::handoff_room).
  void pace(std::size_t jobs);

  store::RecordStore& store_;
  NotificationService* notification_;
  metrics::Observer* observer_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  /// How many jobs the async service had finished when pace() last found it stalled (finishing
  /// nothing); UINT64_MAX while it is not.
  std::atomic<std::uint64_t> stalled_at_{static_cast<std::uint64_t>(-1)};
};

}  // namespace stepline::host::pipeline
