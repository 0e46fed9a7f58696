// Internal pieces shared by the backend and its connections: one pending post, and what a
// connection needs from the backend that owns it. Everything here lives on the AMQP thread
// unless said otherwise.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <proton/container.hpp>
#include <proton/message.hpp>

#include "stepline/host/amqp/backend.hpp"

namespace stepline::host::amqp {

using Clock = std::chrono::steady_clock;

struct Post {
  std::shared_ptr<const Target> target;
  proton::message message;
  Backend::Callback done;
  std::string link_key;  ///< the window this post holds a place in
  Clock::time_point deadline;
  bool finished = false;
};

/// The backend as its connections see it.
class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual const BackendOptions& options() const = 0;
  virtual proton::container& container() = 0;
  /// Completes a post once (later calls are ignored) and frees its place in the window.
  virtual void finish(Post& post, Outcome outcome) = 0;
  virtual void note_unsettled(std::size_t count) = 0;
  virtual void note_connection_opened() = 0;
  virtual void note_token_put() = 0;
};

}  // namespace stepline::host::amqp
