// Posts N messages of 1 KiB through the AMQP backend and, as the baseline, through a plain
// Proton C++ sender (the simple_send pattern: send while there is credit, count accepts), to
// the same broker in the same run. Each side runs in its own child process so its peak RSS is
// its own. Reports messages per second, CPU per message, the backend/baseline ratio and both
// peak RSS figures. Consumers in the driver keep the broker's queues short. The sides take
// turns for --rounds rounds (the first side alternates); quote the median ratio.
//
//   bench_amqp [--messages N] [--size BYTES] [--window W] [--rounds R]
//              [--rabbitmq | --test-peer |
//               --connection-string S --auth cbs|plain [--baseline-entity E] [--backend-entity E]]
//
// Without a connection string it starts stepline-broker and logs in with SASL PLAIN (--auth cbs
// for ANONYMOUS + CBS); --rabbitmq starts a private RabbitMQ node instead, --test-peer uses the
// in-process test peer with CBS; a connection string points it at any other broker.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
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
#include <proton/ssl.hpp>
#include <proton/tracker.hpp>
#include <proton/uuid.hpp>
#include <proton/work_queue.hpp>

#include <stepline/azure/cbs.hpp>
#include <stepline/azure/connection_string.hpp>
#include <stepline/azure/sas_token.hpp>
#include <stepline/host/amqp/backend.hpp>

#include "child_run.hpp"
#include "testkit/process.hpp"
#include "testkit/rabbitmq.hpp"
#include "testkit/stepline_broker.hpp"
#include "testkit/test_peer.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace stepline;

struct Settings {
  std::string mode = "driver";  // driver | baseline | backend
  std::string connection_string;
  std::string auth = "plain";
  std::string entity;  // children: the entity they post to
  std::string baseline_entity, backend_entity;
  bool test_peer = false;
  bool rabbitmq = false;
  int rounds = 3;
  int messages = 100000;
  int size = 1024;
  std::size_t window = 256;

  bool cbs() const { return auth == "cbs"; }
};

proton::message payload(int size) {
  proton::message m;
  m.body(proton::binary(std::string(static_cast<std::size_t>(size), 'x')));
  return m;
}

// What any minimal client of these brokers does before it can use an entity: connect (TLS
// unless the string says otherwise), then SASL PLAIN, or SASL ANONYMOUS and one CBS put-token.
class MinimalClient : public proton::messaging_handler {
 public:
  MinimalClient(const Settings& s, std::string entity)
      : cs_(azure::ConnectionString::parse(s.connection_string)),
        cbs_(s.cbs()),
        entity_(std::move(entity)) {}

  void on_container_start(proton::container& c) override {
    bool plain = cs_.use_development_emulator || cs_.scheme == "amqp";
    proton::connection_options o;
    o.virtual_host(cs_.host);
    if (!plain) o.ssl_client_options(proton::ssl_client_options());
    if (cbs_) {
      o.sasl_allowed_mechs("ANONYMOUS");
    } else {
      o.user(cs_.shared_access_key_name)
          .password(cs_.shared_access_key)
          .sasl_allowed_mechs("PLAIN");
      o.sasl_allow_insecure_mechs(plain);
    }
    c.connect(
        (plain ? "amqp://" : "amqps://") + cs_.host + ":" + std::to_string(cs_.effective_port()),
        o);
  }
  void on_connection_open(proton::connection& c) override {
    if (!cbs_) return ready(c);
    reply_to_ = "cbs-" + proton::uuid::random().str();
    cbs_sender_ = c.open_sender("$cbs");
    c.open_receiver("$cbs", proton::receiver_options().name(reply_to_));
  }
  void on_sendable(proton::sender& s) override {
    if (s == cbs_sender_) {
      if (token_sent_) return;
      token_sent_ = true;
      azure::cbs::PutTokenRequest put;
      put.audience = cs_.audience(entity_);
      put.token = cs_.has_signature()
                      ? cs_.shared_access_signature
                      : azure::create_sas_token(put.audience, cs_.shared_access_key_name,
                                                cs_.shared_access_key);
      put.message_id = proton::uuid::random().str();
      put.reply_to = reply_to_;
      s.send(put.to_message());
      return;
    }
    sendable(s);
  }
  void on_message(proton::delivery& d, proton::message& m) override {
    if (d.receiver().name() == reply_to_) {
      auto response = azure::cbs::PutTokenResponse::from_message(m);
      if (!response.ok())
        throw std::runtime_error("put-token refused: " + response.status_description);
      proton::connection c = d.connection();
      return ready(c);
    }
    received(m);
  }

 protected:
  virtual void ready(proton::connection& c) = 0;
  virtual void sendable(proton::sender&) {}
  virtual void received(proton::message&) {}
  const std::string& entity() const { return entity_; }
  bool is_cbs(const proton::sender& s) const { return s == cbs_sender_; }
  void on_error(const proton::error_condition& e) override {
    if (!stopping) std::cerr << "bench_amqp: " << entity_ << ": " << e.what() << "\n";
  }
  bool stopping = false;

 private:
  azure::ConnectionString cs_;
  bool cbs_;
  std::string entity_, reply_to_;
  proton::sender cbs_sender_;
  bool token_sent_ = false;
};

class PlainSender : public MinimalClient {
 public:
  PlainSender(const Settings& s)
      : MinimalClient(s, s.entity), total_(s.messages), message_(payload(s.size)) {}
  int accepted = 0;

 protected:
  void ready(proton::connection& c) override { c.open_sender(entity()); }
  void sendable(proton::sender& s) override {
    while (s.credit() > 0 && sent_ < total_) {
      s.send(message_);
      ++sent_;
    }
  }
  void on_tracker_accept(proton::tracker& t) override {
    if (is_cbs(t.sender())) return;
    if (++accepted == total_) t.connection().close();
  }

 private:
  int total_;
  proton::message message_;
  int sent_ = 0;
};

// Drains an entity so the broker's queue stays short; runs in the driver.
class Consumer : public MinimalClient {
 public:
  Consumer(const Settings& s, const std::string& entity)
      : MinimalClient(s, entity), container_(*this) {
    thread_ = std::thread([this] { container_.run(); });
  }
  ~Consumer() {
    work_.add([this] {
      stopping = true;
      container_.stop();
    });
    thread_.join();
  }

 protected:
  void ready(proton::connection& c) override {
    c.open_receiver(entity(), proton::receiver_options().credit_window(1000));
  }

 private:
  proton::container container_;
  proton::work_queue work_{container_};
  std::thread thread_;
};

int run_baseline(const Settings& s) {
  PlainSender sender(s);
  auto start = Clock::now();
  proton::container(sender).run();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  bench::print_result(seconds, sender.accepted);
  return sender.accepted == s.messages ? 0 : 1;
}

int run_backend(const Settings& s) {
  host::amqp::BackendOptions options;
  options.window = s.window;
  options.allow_plain_amqp = true;
  host::amqp::Backend backend(options);
  host::amqp::Target target;
  target.name = "bench";
  target.connection = azure::ConnectionString::parse(s.connection_string);
  target.entity = s.entity;
  target.auth = s.cbs() ? host::amqp::Auth::cbs : host::amqp::Auth::plain;
  target.timeout = std::chrono::seconds(120);

  std::mutex mutex;
  std::condition_variable done;
  int finished = 0, accepted = 0;
  const proton::message message = payload(s.size);
  auto start = Clock::now();
  for (int i = 0; i < s.messages; ++i) {
    backend.post(target, message, [&](const host::amqp::Outcome& o) {
      std::lock_guard lock(mutex);
      accepted += o.ok();
      if (++finished == s.messages) done.notify_one();
    });
  }
  {
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return finished == s.messages; });
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  backend.shutdown();
  bench::print_result(seconds, accepted);
  return accepted == s.messages ? 0 : 1;
}

std::vector<std::string> child_argv(const char* self, const Settings& s, const std::string& mode,
                                    const std::string& entity) {
  return {self,
          "--mode",
          mode,
          "--connection-string",
          s.connection_string,
          "--auth",
          s.auth,
          "--entity",
          entity,
          "--messages",
          std::to_string(s.messages),
          "--size",
          std::to_string(s.size),
          "--window",
          std::to_string(s.window)};
}

int run_driver(const char* self, Settings s) {
  std::unique_ptr<test::SteplineBroker> stepline_broker;
  std::unique_ptr<test::RabbitMq> rabbit;
  std::unique_ptr<test::TestPeer> peer;
  std::string broker = "the given broker";
  if (s.test_peer) {
    test::TestPeerOptions options;
    options.cbs_keys = {{"send", "key"}};
    peer = std::make_unique<test::TestPeer>(options);
    s.connection_string = peer->connection_string();
    s.auth = "cbs";
    broker = "the in-process test peer (CBS)";
  } else if (s.rabbitmq) {
    rabbit = std::make_unique<test::RabbitMq>();
    s.connection_string = rabbit->connection_string();
    s.auth = "plain";
    // /queue/<name> declares the queue for the consumer; senders use the existing queue.
    s.baseline_entity = "/amq/queue/bench-baseline";
    s.backend_entity = "/amq/queue/bench-backend";
    broker = "RabbitMQ 3.10 (AMQP 1.0, SASL PLAIN)";
  } else if (s.connection_string.empty()) {
    stepline_broker = std::make_unique<test::SteplineBroker>(R"(
sas_policies:
  - name: guest
    key: guest
    rights: [manage, send, listen]
queues:
  - name: bench-baseline
  - name: bench-backend
)");
    s.connection_string = stepline_broker->connection_string("guest", "guest");
    broker = "stepline-broker (SASL " + std::string(s.cbs() ? "ANONYMOUS + CBS" : "PLAIN") + ")";
  }
  if (s.baseline_entity.empty()) s.baseline_entity = "bench-baseline";
  if (s.backend_entity.empty()) s.backend_entity = "bench-backend";
  test::TempDir dir("stepline-bench-amqp-");
  std::unique_ptr<Consumer> drain_baseline, drain_backend;
  if (!peer) {
    auto consumer_address = [&](const std::string& e) {
      return rabbit ? "/queue/" + e.substr(e.rfind('/') + 1) : e;
    };
    drain_baseline = std::make_unique<Consumer>(s, consumer_address(s.baseline_entity));
    drain_backend = std::make_unique<Consumer>(s, consumer_address(s.backend_entity));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let them attach and declare
  }

  std::printf("%d messages of %d bytes into %s, backend window %zu, %d round(s)\n", s.messages,
              s.size, broker.c_str(), s.window, s.rounds);
  auto side = [&](const std::string& label, const std::string& mode, const std::string& entity) {
    return bench::Side{label, [&, mode, entity] {
                         return bench::run_child(child_argv(self, s, mode, entity), mode,
                                                 dir.path());
                       }};
  };
  bench::compare_in_rounds(s.rounds, s.messages,
                           side("plain Proton C++ sender", "baseline", s.baseline_entity),
                           side("stepline AMQP backend", "backend", s.backend_entity));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"Posting throughput of the AMQP backend against a plain Proton C++ sender"};
  app.add_option("--messages", s.messages, "messages per side")->check(CLI::PositiveNumber);
  app.add_option("--size", s.size, "body bytes")->check(CLI::PositiveNumber);
  app.add_option("--window", s.window, "the backend's window per link")->check(CLI::PositiveNumber);
  app.add_option("--rounds", s.rounds, "rounds of both sides; the median ratio is reported")
      ->check(CLI::PositiveNumber);
  auto* rabbitmq = app.add_flag("--rabbitmq", s.rabbitmq, "start a private RabbitMQ node");
  auto* peer = app.add_flag("--test-peer", s.test_peer, "use the in-process test peer (CBS)");
  auto* given = app.add_option("--connection-string", s.connection_string, "any other broker");
  rabbitmq->excludes(peer)->excludes(given);
  peer->excludes(given);
  app.add_option("--auth", s.auth, "SASL PLAIN or ANONYMOUS + CBS")
      ->check(CLI::IsMember({"plain", "cbs"}));
  app.add_option("--baseline-entity", s.baseline_entity, "the baseline's queue");
  app.add_option("--backend-entity", s.backend_entity, "the backend's queue");
  // How the driver runs each side as a child process.
  app.add_option("--mode", s.mode, "driver, or one side")
      ->check(CLI::IsMember({"driver", "baseline", "backend"}))
      ->group("");
  app.add_option("--entity", s.entity, "the child's queue")->group("");
  CLI11_PARSE(app, argc, argv);
  try {
    if (s.mode == "baseline") return run_baseline(s);
    if (s.mode == "backend") return run_backend(s);
    return run_driver(argv[0], s);
  } catch (const std::exception& e) {
    std::cerr << "bench_amqp: " << e.what() << "\n";
    return 1;
  }
}
