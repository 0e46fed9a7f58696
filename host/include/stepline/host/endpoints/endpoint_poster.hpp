// Posting an execution context to a registered service endpoint: the context is serialized in
// the endpoint's format, given the message properties listeners filter on, checked against the
// endpoint's size policy and handed to the AMQP backend. Synchronous steps wait for the outcome
// on the caller's thread; the async service records it on the system job.
#pragma once

#include <functional>
#include <future>
#include <string>
#include <string_view>
#include <utility>

#include <stepline/execution_context.hpp>
#include <stepline/host/amqp/outcome.hpp>
#include <stepline/registration/model.hpp>

namespace stepline::host::endpoints {

struct PostOptions {
  /// Event Hubs partition key / Service Bus session id; empty = the endpoint's own rule
  /// (its partition_key, else none). Set from the record key for `order: per-record` endpoints.
  std::string ordering_key;
  /// `context` already written in Stepline's `json` format (a system job's stored context):
  /// the body of a `format: json` endpoint's message, instead of writing the context again.
  /// Must be exactly that context's text; ignored for other formats and for a truncated body.
  std::string_view json_body;
};

/// An outcome known before anything is sent (a post refused up front), as post() returns it.
inline std::future<amqp::Outcome> ready(amqp::Outcome outcome) {
  std::promise<amqp::Outcome> promise;
  promise.set_value(std::move(outcome));
  return promise.get_future();
}

class EndpointPoster {
 public:
  virtual ~EndpointPoster() = default;
  /// Completes with accepted (and the reply for a two-way endpoint) or a classified failure.
  /// Never throws for a failed post; throws std::invalid_argument only for misuse.
  virtual std::future<amqp::Outcome> post(const registration::ServiceEndpoint& endpoint,
                                          const ExecutionContext& context,
                                          const PostOptions& options = {}) = 0;

  using Completion = std::function<void(const amqp::Outcome&)>;
  /// post() with a callback instead of a future, for a caller with many posts in flight (the
  /// async service): a future's promise costs a system call to complete whether or not anyone
  /// waits on it. `done` runs once with the outcome, on the poster's own thread (keep it short
  /// and post nothing from it), or on the calling thread before this returns when the outcome is
  /// known up front. Returns false without calling `done` when this poster has only post(): the
  /// caller uses post() then. The default has only post().
  virtual bool post_then(const registration::ServiceEndpoint& endpoint,
                         const ExecutionContext& context, const PostOptions& options,
                         Completion done) {
    (void)endpoint, (void)context, (void)options, (void)done;
    return false;
  }
};

}  // namespace stepline::host::endpoints
