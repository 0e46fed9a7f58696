#include "server.hpp"

#include <algorithm>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/event.h>
#include <proton/listener.h>
#include <proton/logger.h>
#include <proton/netaddr.h>
#include <proton/proactor.h>
#include <proton/sasl.h>
#include <proton/transport.h>

#include "log.hpp"

namespace stepline::broker {

int64_t now_ms();

namespace {

// Connections waiting in the kernel before the broker accepts them; Proton's default is 16.
constexpr int listen_backlog = 1024;

std::string condition_text(pn_condition_t* c) {
  if (!c || !pn_condition_is_set(c)) return {};
  const char* name = pn_condition_get_name(c);
  const char* description = pn_condition_get_description(c);
  return fmt::format("{}: {}", name ? name : "", description ? description : "");
}

std::string peer_host(pn_transport_t* t) {
  const pn_netaddr_t* a = pn_transport_remote_addr(t);
  char host[256] = "", port[32] = "";
  if (!a || pn_netaddr_host_port(a, host, sizeof(host), port, sizeof(port)) != 0) return "unknown";
  return host;
}

// Transports whose peer sent a frame Proton could not decode, seen on this (the AMQP) thread.
thread_local std::vector<pn_transport_t*> undecodable;

// Called inside Proton, possibly with the connection's lock held: it only takes note.
void watch_errors(intptr_t context, pn_log_subsystem_t, pn_log_level_t level, const char*) {
  if (level != PN_LEVEL_ERROR && level != PN_LEVEL_CRITICAL) return;
  auto* t = reinterpret_cast<pn_transport_t*>(context);
  if (std::find(undecodable.begin(), undecodable.end(), t) == undecodable.end())
    undecodable.push_back(t);
}

}  // namespace

void close_now(pn_transport_t* t) {
  if (!t) return;
  pn_transport_close_tail(t);
  pn_transport_close_head(t);
}

static bool take_undecodable(pn_transport_t* t) {
  auto it = std::find(undecodable.begin(), undecodable.end(), t);
  if (it == undecodable.end()) return false;
  undecodable.erase(it);
  return true;
}

bool close_if_undecodable(pn_transport_t* t) {
  if (!take_undecodable(t) || pn_condition_is_set(pn_transport_condition(t))) return false;
  // Proton answers with a close frame carrying this error, then closes the socket.
  pn_condition_t* cond = pn_transport_condition(t);
  pn_condition_set_name(cond, "amqp:connection:framing-error");
  pn_condition_set_description(cond, "a frame could not be decoded");
  pn_transport_close_tail(t);
  return true;
}

void configure_transport(pn_transport_t* t, const BrokerConfig& config,
                         const Authority& authority) {
  pn_logger_t* logger = pn_transport_logger(t);
  pn_logger_set_mask(logger, PN_SUBSYSTEM_AMQP, PN_LEVEL_ERROR | PN_LEVEL_CRITICAL);
  pn_logger_set_log_sink(logger, watch_errors, reinterpret_cast<intptr_t>(t));
  pn_transport_set_server(t);  // before pn_sasl(): the SASL layer takes its side from it
  pn_sasl_t* sasl = pn_sasl(t);
  pn_sasl_set_allow_insecure_mechs(sasl, true);
  // No inclusion list: the mechanisms offered are the plug-in's (PLAIN, ANONYMOUS), and every
  // sasl-init reaches it, which refuses any other mechanism and frees what Proton leaks on a
  // repeated one (sasl_plain.cpp). With a list, Proton refuses others itself and leaks their
  // names.
  authority.use_sasl(t);
  // Until the peer's open frame has been read only SASL frames and that open frame arrive:
  // anything larger is hostile, and Proton would otherwise buffer a frame of any claimed size.
  pn_transport_set_max_frame(t, frame_limit_before_open);
  pn_transport_set_idle_timeout(t, static_cast<pn_millis_t>(config.idle_timeout.count()));
}

void configure_connection(pn_connection_t* c) {
  pn_connection_set_container(c, "stepline-broker");
}

Server::Server(const BrokerConfig& config, const Authority& authority, Handler& handler,
               Admission& admission, Counters& counters)
    : config_(config),
      authority_(authority),
      handler_(handler),
      admission_(admission),
      counters_(counters),
      proactor_(pn_proactor()) {}

Server::~Server() {
  pn_proactor_free(proactor_);
}

void Server::stop() {
  stop_requested_ = true;
  pn_proactor_interrupt(proactor_);
}

void Server::wake() {
  pn_proactor_interrupt(proactor_);
}

void Server::run(const std::string& address) {
  listener_ = pn_listener();
  pn_proactor_listen(proactor_, listener_, address.c_str(), listen_backlog);
  for (bool done = false; !done;) {
    pn_event_batch_t* batch = pn_proactor_wait(proactor_);
    while (pn_event_t* e = pn_event_batch_next(batch)) {
      switch (pn_event_type(e)) {
        case PN_LISTENER_OPEN: {
          char host[256] = "", port[32] = "";
          pn_netaddr_host_port(pn_listener_addr(listener_), host, sizeof(host), port, sizeof(port));
          log::info("listening on port {}", port);
          break;
        }
        case PN_LISTENER_ACCEPT:
          accept(pn_event_listener(e));
          break;
        case PN_LISTENER_CLOSE:
          listener_ = nullptr;
          if (!stopping_) {
            listen_error_ = condition_text(pn_listener_condition(pn_event_listener(e)));
            log::error("cannot listen: {} (is the port in use? change 'listen' or --listen)",
                       listen_error_);
            shut_down();
          }
          break;
        case PN_PROACTOR_INTERRUPT:
          if (stop_requested_ && !stopping_) shut_down();
          handler_.on_wake();
          break;
        case PN_PROACTOR_TIMEOUT:
          armed_for_ = 0;
          if (!stopping_) timers_.run_due(now_ms());
          break;
        case PN_PROACTOR_INACTIVE:
          done = true;
          break;
        default:
          connection_event(e);
          break;
      }
    }
    pn_proactor_done(proactor_, batch);
    if (stopping_) continue;
    close_undecodable();
    arm_timer();
  }
  if (!listen_error_.empty())
    throw std::runtime_error("cannot listen on " + address + ": " + listen_error_);
}

void Server::shut_down() {
  stopping_ = true;
  timers_.clear();
  pn_proactor_cancel_timeout(proactor_);
  if (listener_) pn_listener_close(listener_);
  pn_proactor_disconnect(proactor_, nullptr);
}

void Server::close_undecodable() {
  // Between batches no connection is being processed, so any live transport may be touched;
  // the wake makes the proactor write the close frame and close the socket.
  auto noted = std::move(undecodable);
  undecodable.clear();
  for (pn_transport_t* t : noted) {
    if (!live_.count(t)) continue;
    undecodable.push_back(t);
    if (!close_if_undecodable(t)) continue;
    count_protocol_error(t);
    pn_connection_wake(pn_transport_connection(t));
  }
}

void Server::check_undecodable(pn_transport_t* t) {
  if (close_if_undecodable(t)) count_protocol_error(t);
}

void Server::arm_timer() {
  auto due = timers_.next_due();
  if (!due) return;
  if (armed_for_ == *due) return;
  // At least 1 ms: Proton treats 0 apart (through the proactor's task, not its timer).
  pn_proactor_set_timeout(proactor_,
                          static_cast<pn_millis_t>(std::max<int64_t>(1, *due - now_ms())));
  armed_for_ = *due;
}

void Server::accept(pn_listener_t* listener) {
  pn_connection_t* c = pn_connection();
  pn_transport_t* t = pn_transport();
  configure_connection(c);
  configure_transport(t, config_, authority_);
  live_.insert(t);
  pn_listener_accept2(listener, c, t);
  ++counters_.connections_accepted;
}

void Server::count_protocol_error(pn_transport_t* t) {
  // A peer that went away without a close frame (or before sending anything, as port probes
  // do) is no protocol error; each connection counts once, however many errors Proton reports.
  const char* text = pn_condition_get_description(pn_transport_condition(t));
  std::string_view description = text ? text : "";
  if (description == "connection aborted" || description.rfind("No protocol header found", 0) == 0)
    return;
  if (!errored_.insert(t).second) return;
  ++counters_.connections_closed_protocol_error;
  log::debug("closing a connection from {}: {}", peer_host(t),
             condition_text(pn_transport_condition(t)));
}

void Server::connection_event(pn_event_t* e) {
  pn_connection_t* c = pn_event_connection(e);
  pn_transport_t* t = pn_event_transport(e);
  if (!t && c) t = pn_connection_transport(c);
  pn_event_type_t type = pn_event_type(e);
  if (c && t && !admission_.known(c)) {
    // A new connection's first event: its peer's address is known now.
    if (admission_.admit(c, peer_host(t), now_ms()) == Admission::Verdict::admitted)
      ++counters_.connections_open;
  }
  if (c && admission_.refused(c)) {
    // Refused: its socket closes at once and the broker never sees it.
    if (type == PN_TRANSPORT_CLOSED)
      admission_.closed(c);
    else
      close_now(t);
    return;
  }
  if (!undecodable.empty() && close_if_undecodable(t)) count_protocol_error(t);
  switch (type) {
    case PN_TRANSPORT_TAIL_CLOSED:
      // The peer will send nothing more. Unless it closed the connection properly or Proton
      // has an error to report (then a close frame is on its way and Proton closes the socket
      // after it), there is no one to talk to: close the socket now rather than when the idle
      // timeout notices.
      if (c && !(pn_connection_state(c) & PN_REMOTE_CLOSED) &&
          !pn_condition_is_set(pn_transport_condition(t)))
        pn_transport_close_head(t);
      break;
    case PN_CONNECTION_REMOTE_OPEN:
      // Open: from now on frames may be as large as the max-frame-size the broker's open frame
      // announces, and no larger.
      pn_transport_set_max_frame(t, config_.limits.max_frame_size);
      break;
    case PN_TRANSPORT_ERROR:
      // A framing error, an oversized frame, a failed login: the connection is of no further use,
      // so its socket is closed now instead of when the peer or the idle timeout gets to it.
      if (pn_transport_capacity(t) >= 0) pn_transport_close_tail(t);
      count_protocol_error(t);
      break;
    default:
      break;
  }
  handler_.on_event(e);
  if (type == PN_TRANSPORT_CLOSED) {
    take_undecodable(t);
    errored_.erase(t);
    live_.erase(t);
  }
  if (type == PN_TRANSPORT_CLOSED && c) {
    admission_.closed(c);
    --counters_.connections_open;
  }
}

}  // namespace stepline::broker
