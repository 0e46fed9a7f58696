// The host as a library: a registration, plug-ins from a factory, the record store in the data
// folder, and one call to run a request. Front ends (the CLI, a JSONL runner, a server) sit on it.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include <stepline/registration/model.hpp>
#include <stepline/services.hpp>

#include <stepline/host/pipeline/pipeline.hpp>
#include <stepline/host/pipeline/plugin_factory.hpp>
#include <stepline/host/store/record_store.hpp>

namespace stepline::host {

struct HostOptions {
  /// An SQLite record store's file instead of the registration's store; empty = the
  /// registration's (stepline.db in its data folder, "data" when that is empty too).
  std::filesystem::path database;
  /// What a committed operation survives; nullopt = the registration's host.durability.
  std::optional<store::Durability> durability;
  /// Posts for endpoint steps and plug-ins' notification(); null = none available.
  NotificationService* notification = nullptr;
  /// Hears of operations, steps and posts as they finish (metrics); null = none.
  metrics::Observer* observer = nullptr;
  /// How long submit()'s intake may wait for more operations before it starts a batch, when
  /// operations of other callers arrived while its last batch ran; never longer than that batch
  /// took. More operations share a commit, at the cost of that wait. 0 = never wait. Only where
  /// batches share a commit (SQLite).
  std::chrono::microseconds intake_linger{200};
};

class Host {
 public:
  /// Opens the record store and indexes the steps. Throws std::runtime_error (store) or
  /// std::invalid_argument (a step that can not run) naming the file.
  Host(registration::Registration registration, pipeline::PluginFactory& factory,
       HostOptions options = {});
  /// The same with a factory the pipeline keeps with the registration, so that a reload with
  /// another factory can release this one when its last operation has finished.
  Host(registration::Registration registration, std::shared_ptr<pipeline::PluginFactory> factory,
       HostOptions options = {});
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  /// Runs one operation on the calling thread.
  pipeline::OperationResponse execute(const pipeline::OperationRequest& request);
  /// Reads a JSON request (docs/REQUESTS.md) and runs it. A request that cannot be read is not
  /// run: the response has outcome invalid_request and an error naming the JSON path.
  pipeline::OperationResponse execute(std::string_view request_json);

  /// Queues an operation and returns at once; `done` gets its response once the operation's
  /// changes are committed (or it failed). The host's intake thread, started by the first call,
  /// runs what is queued one operation after another, up to 64 at a time into one commit
  /// (Pipeline::execute_batch): a caller with many operations in flight pays neither a thread
  /// switch nor a commit per operation. `done` runs on the intake thread, in the order the
  /// operations were queued, and may submit again; what it throws is logged. A call waits while
  /// 1,024 operations are queued, except from `done`. The destructor runs what is queued first.
  /// A batch paces itself to the async service as execute() does. On PostgreSQL, which commits each
  /// operation on its own, the operations still run one at a time: callers there run many at once
  /// with execute() from several threads.
  void submit(pipeline::OperationRequest request,
              std::function<void(pipeline::OperationResponse)> done);
  /// Whether an operation submitted now would start soon: false while the intake thread has
  /// been on one batch for longer than `patience` (an operation whose plug-in takes its time
  /// holds up every one queued behind it) or `waiting` operations are queued already. A caller
  /// that can run an operation itself as well (an HTTP worker) calls execute() then.
  bool submit_is_prompt(std::chrono::microseconds patience, std::size_t waiting);

  pipeline::Pipeline& pipeline() noexcept { return *pipeline_; }
  store::RecordStore& store() noexcept { return *store_; }

 private:
  std::unique_ptr<store::RecordStore> store_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  class Intake;
  std::unique_ptr<Intake> intake_;           ///< submit()'s thread; stops before the pipeline goes
  std::chrono::microseconds intake_linger_;  ///< 0 where the store does not group commits
  std::mutex intake_start_;
};

}  // namespace stepline::host
