// A small blocking Proton C++ client for the broker tests: send messages and wait for every
// outcome, or receive messages and settle each one a chosen way.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <proton/condition.h>
#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>
#include <proton/work_queue.hpp>

#include "proton_access.hpp"

namespace stepline::broker::testing {

struct Login {
  std::string user;      ///< empty = SASL ANONYMOUS
  std::string password;  ///< with user: SASL PLAIN
};

struct SendResult {
  int accepted = 0;
  std::vector<std::string> rejected;  ///< condition names
  std::string error;                  ///< link or connection error condition name
  uint64_t max_message_size = 0;      ///< from the broker's attach
};

enum class Settle { accept, release, abandon, defer, dead_letter, none };

struct ReceiveResult {
  std::vector<proton::message> messages;
  std::vector<proton::binary> tags;
  std::string error;
};

namespace detail {

inline proton::connection_options options(const Login& login) {
  proton::connection_options o;
  o.sasl_enabled(true).sasl_allow_insecure_mechs(true).idle_timeout(proton::duration(30000));
  if (!login.user.empty()) {
    o.user(login.user).password(login.password).sasl_allowed_mechs("PLAIN");
  } else {
    o.sasl_allowed_mechs("ANONYMOUS");
  }
  return o;
}

inline std::string condition_name(const proton::error_condition& e) {
  return e.name();
}

class Sending : public proton::messaging_handler {
 public:
  Sending(std::string url, std::string address, std::vector<proton::message> messages, Login login)
      : url_(std::move(url)),
        address_(std::move(address)),
        messages_(std::move(messages)),
        login_(std::move(login)) {}
  SendResult result;

  void on_container_start(proton::container& c) override {
    c.connect(url_, options(login_));
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    watch(c);
  }
  // Short polling timers: a pending Proton timer keeps container::run() alive even after stop().
  void watch(proton::container& c) {
    c.schedule(proton::duration(50), [this, &c] {
      if (done_) return;
      if (std::chrono::steady_clock::now() > deadline_) {
        result.error = "timeout";
        done_ = true;
        c.stop();
        return;
      }
      watch(c);
    });
  }
  void on_connection_open(proton::connection& c) override { c.open_sender(address_); }
  void on_sender_open(proton::sender& s) override {
    result.max_message_size = pn_link_remote_max_message_size(pn(s));
  }
  void on_sendable(proton::sender& s) override {
    while (s.credit() > 0 && next_ < messages_.size()) s.send(messages_[next_++]);
  }
  void on_tracker_accept(proton::tracker& t) override {
    count(t);
    ++result.accepted;
  }
  void on_tracker_reject(proton::tracker& t) override {
    pn_condition_t* c = pn_disposition_condition(pn_delivery_remote(pn(t)));
    result.rejected.push_back(pn_condition_get_name(c) ? pn_condition_get_name(c) : "");
    count(t);
  }
  void on_tracker_release(proton::tracker& t) override {
    result.rejected.push_back("released");
    count(t);
  }
  void on_sender_error(proton::sender& s) override { fail(s.error(), s.connection()); }
  void on_connection_error(proton::connection& c) override { fail(c.error(), c); }
  void on_transport_error(proton::transport& t) override {
    if (!done_ && result.error.empty()) result.error = t.error().name();
    done_ = true;
    t.connection().container().stop();
  }

 private:
  void count(proton::tracker& t) {
    if (++settled_ == messages_.size()) {
      done_ = true;
      t.connection().close();
      t.container().stop();
    }
  }
  void fail(const proton::error_condition& e, proton::connection c) {
    if (result.error.empty()) result.error = e.name();
    done_ = true;
    c.close();
    c.container().stop();
  }
  std::string url_, address_;
  std::vector<proton::message> messages_;
  Login login_;
  size_t next_ = 0, settled_ = 0;
  bool done_ = false;
  std::chrono::steady_clock::time_point deadline_;
};

class Receiving : public proton::messaging_handler {
 public:
  Receiving(std::string url, std::string address, size_t count, Settle how, Login login,
            bool delete_on_receive, int idle_ms)
      : url_(std::move(url)),
        address_(std::move(address)),
        count_(count),
        how_(how),
        login_(std::move(login)),
        delete_(delete_on_receive),
        idle_ms_(idle_ms) {}
  ReceiveResult result;

  void on_container_start(proton::container& c) override {
    c.connect(url_, options(login_));
    last_ = std::chrono::steady_clock::now();
    watch(c);
  }
  void on_connection_open(proton::connection& c) override {
    proton::receiver_options o;
    o.credit_window(0).auto_accept(false);  // exactly `count` credits, never refilled
    if (delete_) o.delivery_mode(proton::delivery_mode::AT_MOST_ONCE);
    c.open_receiver(address_, o);
  }
  void on_receiver_open(proton::receiver& r) override { r.add_credit(static_cast<int>(count_)); }
  void on_message(proton::delivery& d, proton::message& m) override {
    last_ = std::chrono::steady_clock::now();
    result.messages.push_back(m);
    result.tags.push_back(d.tag());
    if (!delete_) {
      pn_delivery_t* pd = pn(d);
      switch (how_) {
        case Settle::accept:
          d.accept();
          break;
        case Settle::release:
          d.release();
          break;
        case Settle::abandon:
          pn_delivery_update(pd, PN_MODIFIED);
          pn_delivery_settle(pd);
          break;
        case Settle::defer:
          pn_disposition_set_undeliverable(pn_delivery_local(pd), true);
          pn_delivery_update(pd, PN_MODIFIED);
          pn_delivery_settle(pd);
          break;
        case Settle::dead_letter:
          pn_condition_set_name(pn_disposition_condition(pn_delivery_local(pd)),
                                "com.microsoft:dead-letter");
          pn_delivery_update(pd, PN_REJECTED);
          pn_delivery_settle(pd);
          break;
        case Settle::none:
          break;
      }
    }
    if (result.messages.size() == count_) finish(d.connection());
  }
  void on_receiver_error(proton::receiver& r) override {
    result.error = r.error().name();
    finish(r.connection());
  }
  void on_connection_error(proton::connection& c) override {
    result.error = c.error().name();
    finish(c);
  }
  void on_transport_error(proton::transport& t) override {
    if (!done_ && result.error.empty()) result.error = t.error().name();
    done_ = true;
    t.connection().container().stop();
  }

 private:
  void watch(proton::container& c) {
    c.schedule(proton::duration(50), [this, &c] {
      if (done_) return;
      if (std::chrono::steady_clock::now() - last_ > std::chrono::milliseconds(idle_ms_)) {
        done_ = true;
        c.stop();
        return;
      }
      watch(c);
    });
  }
  void finish(proton::connection c) {
    if (done_) return;
    done_ = true;
    // Give the dispositions a moment to leave before the connection closes.
    c.container().schedule(proton::duration(100), [c]() mutable {
      c.close();
      c.container().stop();
    });
  }
  std::string url_, address_;
  size_t count_;
  Settle how_;
  Login login_;
  bool delete_;
  int idle_ms_;
  bool done_ = false;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace detail

inline SendResult send(const std::string& url, const std::string& address,
                       std::vector<proton::message> messages, const Login& login) {
  detail::Sending h(url, address, std::move(messages), login);
  proton::container(h).run();
  return h.result;
}

/// Receives up to `count` messages (peek-lock unless `receive_and_delete`), settling each as
/// `how`; stops early after `idle_ms` without a message.
inline ReceiveResult receive(const std::string& url, const std::string& address, size_t count,
                             Settle how, const Login& login, bool receive_and_delete = false,
                             int idle_ms = 700) {
  detail::Receiving h(url, address, count, how, login, receive_and_delete, idle_ms);
  proton::container(h).run();
  return h.result;
}

}  // namespace stepline::broker::testing
