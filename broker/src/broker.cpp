#include "broker.hpp"

#include <algorithm>
#include <chrono>

#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/proactor.h>
#include <proton/session.h>
#include <proton/transport.h>

#include "log.hpp"

namespace stepline::broker {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
constexpr int64_t tick_ms = 100;
}  // namespace

Broker::Broker(BrokerConfig config)
    : config_(std::move(config)),
      authority_(config_.sas_policies),
      store_(config_.data_dir.empty() ? nullptr : std::make_unique<Store>(config_.data_dir)),
      entities_(config_, store_.get()),
      admission_(config_.limits, counters_),
      server_(config_, authority_, *this, admission_, counters_) {
  if (!store_) return;
  entities_.load(*store_, config_.data_dir);
  group_commit_ = std::make_unique<GroupCommit>(
      *store_, config_, server_.timers(), counters_,
      [this](const HeldDelivery& held, bool stored) { publish_stored(held, stored); },
      [this] { server_.wake(); });
}

Broker::~Broker() {
  // The store's writer calls into group_commit_ when a write ends; let it finish first.
  if (store_) store_->wait_idle();
}

void Broker::run(const std::string& listen) {
  server_.timers().at(now_ms() + tick_ms, [this] { tick(); });
  server_.run(listen);
  // Whatever the writer has not written yet is written now; publishers whose deliveries were not
  // accepted before the stop will send again.
  if (store_) store_->commit();
  if (group_commit_) group_commit_->release_held();
}

void Broker::stop() {
  server_.stop();
}

void Broker::run_on_loop(std::function<void()> task) {
  {
    std::lock_guard lock(tasks_mutex_);
    tasks_.push_back(std::move(task));
  }
  server_.wake();
}

void Broker::on_wake() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(tasks_mutex_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) task();
  if (!group_commit_) return;
  group_commit_->finished();
  // Settling publishers' deliveries happened outside their connections' events: wake each once.
  std::sort(woken_.begin(), woken_.end());
  woken_.erase(std::unique(woken_.begin(), woken_.end()), woken_.end());
  for (auto* c : woken_) pn_connection_wake(c);
  woken_.clear();
}

void Broker::on_event(pn_event_t* e) {
  switch (pn_event_type(e)) {
    case PN_CONNECTION_REMOTE_OPEN:
      connection_opened(pn_event_connection(e));
      break;
    case PN_CONNECTION_REMOTE_CLOSE: {
      pn_connection_t* c = pn_event_connection(e);
      connection_closed(c);
      pn_connection_close(c);
      break;
    }
    case PN_TRANSPORT_CLOSED:
    case PN_CONNECTION_FINAL:
      if (pn_connection_t* c = pn_event_connection(e)) connection_closed(c);
      break;
    case PN_SESSION_REMOTE_OPEN: {
      pn_session_t* s = pn_event_session(e);
      if (pn_session_state(s) & PN_LOCAL_UNINIT) pn_session_open(s);
      break;
    }
    case PN_SESSION_REMOTE_CLOSE:
      pn_session_close(pn_event_session(e));
      break;
    case PN_LINK_REMOTE_OPEN:
      link_opened(pn_event_link(e));
      break;
    case PN_LINK_REMOTE_CLOSE: {
      pn_link_t* l = pn_event_link(e);
      link_closed(l);
      pn_link_close(l);
      break;
    }
    case PN_LINK_REMOTE_DETACH: {
      pn_link_t* l = pn_event_link(e);
      link_closed(l);
      pn_link_detach(l);
      break;
    }
    case PN_LINK_FINAL:
      link_closed(pn_event_link(e));
      break;
    case PN_LINK_LOCAL_OPEN:
    case PN_LINK_FLOW: {
      pn_link_t* l = pn_event_link(e);
      if (l && pn_link_is_sender(l) && (pn_link_state(l) & PN_REMOTE_ACTIVE)) service(l);
      break;
    }
    case PN_DELIVERY:
      delivery_arrived(pn_event_delivery(e));
      break;
    default:
      break;
  }
}

void Broker::connection_opened(pn_connection_t* c) {
  ConnectionState& cs = links_.connection(c);
  const char* host = pn_connection_remote_hostname(c);
  cs.host = host ? host : "";
  const char* u = pn_transport_get_user(pn_connection_transport(c));
  std::string user = u ? u : "anonymous";
  if (const SasPolicy* p = user != "anonymous" ? authority_.policy(user) : nullptr) {
    cs.grants.push_back(Grant{"", Rights{p->send, p->listen, p->manage}, 0});
    authenticated(c);
  }
  const char* container = pn_connection_remote_container(c);
  log::debug("connection from container '{}' as '{}'", container ? container : "", user);
  pn_connection_open(c);
}

void Broker::connection_closed(pn_connection_t* c) {
  links_.forget_connection(c);
}

void Broker::authenticated(pn_connection_t* c) {
  admission_.authenticated(c);
}

void Broker::close_overdue_connections(int64_t now) {
  for (const void* overdue : admission_.overdue(now)) {
    auto* c = const_cast<pn_connection_t*>(static_cast<const pn_connection_t*>(overdue));
    pn_transport_t* t = pn_connection_transport(c);
    if (!t || pn_transport_closed(t)) continue;
    ++counters_.connections_closed_authentication_timeout;
    log::debug("closing a connection that did not authenticate within {} ms",
               config_.limits.authentication_timeout.count());
    // Closed outright: a peer that never logs in may never answer a close frame either.
    pn_transport_close_tail(t);
    pn_transport_close_head(t);
    pn_connection_wake(c);
  }
}

void Broker::tick() {
  int64_t now = now_ms();
  for (auto* q : entities_.all_queues())
    if (q->expire(now)) {
      pump(q);
      if (q->dead_letter_queue()) pump(q->dead_letter_queue());
    }
  if (now - last_second_ > 1000) {
    last_second_ = now;
    for (auto& [k, h] : entities_.hubs()) h->prune(now);
    detach_expired_links();
    close_overdue_connections(now);
  }
  if (group_commit_) group_commit_->tick(now);
  server_.timers().at(now + tick_ms, [this] { tick(); });
}

void accept_delivery(pn_delivery_t* d) {
  pn_delivery_update(d, PN_ACCEPTED);
  pn_delivery_settle(d);
}

void reject_delivery(pn_delivery_t* d, const std::string& condition,
                     const std::string& description) {
  pn_condition_t* c = pn_disposition_condition(pn_delivery_local(d));
  pn_condition_set_name(c, condition.c_str());
  pn_condition_set_description(c, description.c_str());
  pn_delivery_update(d, PN_REJECTED);
  pn_delivery_settle(d);
}

}  // namespace stepline::broker
