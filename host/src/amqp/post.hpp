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

/// A target with the keys of its connection and link, built once per distinct target.
struct Route {
  Target target;
  std::string problem;  ///< why no post to the target can work; empty when it can
  std::string connection_key;
  std::string link_key;
  std::size_t* admitted =
      nullptr;  ///< places taken in the link's window (under the backend's mutex)
};

struct Post {
  std::shared_ptr<const Route> route;
  proton::message message;
  /// The message already encoded (then `message` is empty until a two-way link decodes it).
  std::string encoded;
  Backend::Callback done;
  Clock::time_point deadline;
  bool finished = false;

  const Target& target() const { return route->target; }
  const std::string& link_key() const { return route->link_key; }
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
  /// An open connection was lost or closed (it may be opened again later).
  virtual void note_connection_lost() = 0;
  virtual void note_token_put() = 0;
};

}  // namespace stepline::host::amqp
