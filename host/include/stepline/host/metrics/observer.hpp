// What the host reports as it works, for metrics and readiness: operations, steps and posts as
// they finish. The pipeline and the endpoint poster call it when one is given; calls come from
// operation threads, async workers and the AMQP thread at once, so an observer is thread-safe
// and quick (no I/O, no locks held long).
#pragma once

#include <chrono>
#include <string_view>

namespace stepline::registration {
struct Step;
}

namespace stepline::host {
namespace pipeline {
struct OperationRequest;
struct OperationResponse;
}  // namespace pipeline
namespace amqp {
struct Outcome;
}
}  // namespace stepline::host

namespace stepline::host::metrics {

class Observer {
 public:
  virtual ~Observer() = default;
  /// A top-level operation finished, whatever its outcome.
  virtual void operation_finished(const pipeline::OperationRequest& request,
                                  const pipeline::OperationResponse& response,
                                  std::chrono::nanoseconds took) noexcept = 0;
  /// A step ran: a synchronous step of an operation, or an asynchronous plug-in step's job.
  /// `ok` is false when it threw.
  virtual void step_finished(const registration::Step& step, bool ok,
                             std::chrono::nanoseconds took) noexcept = 0;
  /// A post to the service endpoint named `endpoint` completed (from a step, a plug-in or a
  /// job).
  virtual void post_finished(std::string_view endpoint, const amqp::Outcome& outcome,
                             std::chrono::nanoseconds took) noexcept = 0;
};

}  // namespace stepline::host::metrics
