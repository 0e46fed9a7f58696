// Posts N messages of 1 KiB through the AMQP backend and, as the baseline, through a plain
// Proton C++ sender (the simple_send pattern: send while there is credit, count accepts), to
// the same broker in the same run. Each side runs in its own child process so its peak RSS is
// its own. Reports messages per second, the backend/baseline ratio and both peak RSS figures.
//
//   bench_amqp [--messages N] [--size BYTES] [--window W]
//
// With no broker given it starts a private RabbitMQ node (tests/support).
#include <sys/resource.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/sender.hpp>
#include <proton/tracker.hpp>

#include <stepline/host/amqp/backend.hpp>

#include "support/process.hpp"
#include "support/queue_receiver.hpp"
#include "support/rabbitmq.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace stepline;

struct Settings {
  std::string mode = "driver";  // driver | baseline | backend
  std::string url;              // amqp://host:port
  std::string connection_string;
  std::string address;
  int messages = 100000;
  int size = 1024;
  std::size_t window = 256;
};

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

proton::message payload(int size) {
  proton::message m;
  m.body(proton::binary(std::string(static_cast<std::size_t>(size), 'x')));
  return m;
}

// The baseline: everything a minimal at-least-once Proton sender does, nothing more.
class PlainSender : public proton::messaging_handler {
 public:
  explicit PlainSender(const Settings& s) : s_(s), message_(payload(s.size)) {}
  int accepted = 0;

  void on_container_start(proton::container& c) override {
    proton::connection_options o;
    o.user("guest").password("guest").sasl_allowed_mechs("PLAIN").sasl_allow_insecure_mechs(true);
    c.open_sender(s_.url + "/" + s_.address, o);
  }
  void on_sendable(proton::sender& s) override {
    while (s.credit() > 0 && sent_ < s_.messages) {
      s.send(message_);
      ++sent_;
    }
  }
  void on_tracker_accept(proton::tracker& t) override {
    if (++accepted == s_.messages) t.connection().close();
  }

 private:
  const Settings& s_;
  proton::message message_;
  int sent_ = 0;
};

int run_baseline(const Settings& s) {
  PlainSender sender(s);
  auto start = Clock::now();
  proton::container(sender).run();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("result %.6f %d %ld %.6f\n", seconds, sender.accepted, peak_rss_kib(), cpu_seconds());
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
  target.entity = s.address;
  target.auth = registration::AuthMechanism::plain;
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
  std::printf("result %.6f %d %ld %.6f\n", seconds, accepted, peak_rss_kib(), cpu_seconds());
  return accepted == s.messages ? 0 : 1;
}

struct Result {
  double seconds = 0;
  int accepted = 0;
  long rss_kib = 0;
  double cpu = 0;
};

Result run_child(const char* self, const Settings& s, const std::string& mode,
                 const std::string& address, const std::filesystem::path& dir) {
  auto log = dir / (mode + ".out");
  std::vector<std::string> argv{self,
                                "--mode",
                                mode,
                                "--url",
                                s.url,
                                "--connection-string",
                                s.connection_string,
                                "--address",
                                address,
                                "--messages",
                                std::to_string(s.messages),
                                "--size",
                                std::to_string(s.size),
                                "--window",
                                std::to_string(s.window)};
  int status = test::run(argv, {}, log);
  std::string out = test::tail(log, 100000);
  Result r;
  auto at = out.rfind("result ");
  if (status != 0 || at == std::string::npos ||
      std::sscanf(out.c_str() + at, "result %lf %d %ld %lf", &r.seconds, &r.accepted, &r.rss_kib,
                  &r.cpu) != 4) {
    throw std::runtime_error(mode + " run failed (exit " + std::to_string(status) + "):\n" +
                             test::tail(log));
  }
  return r;
}

int run_driver(const char* self, Settings s) {
  std::unique_ptr<test::RabbitMq> rabbit;
  if (s.url.empty()) {
    rabbit = std::make_unique<test::RabbitMq>();
    s.url = rabbit->url();
    s.connection_string = rabbit->connection_string();
  }
  test::TempDir dir("stepline-bench-amqp-");
  // Consumers keep both queues short, so the broker works the same way for both senders.
  test::QueueReceiver baseline_queue(s.url, "/queue/bench-baseline", "guest", "guest", false);
  test::QueueReceiver backend_queue(s.url, "/queue/bench-backend", "guest", "guest", false);

  Result baseline = run_child(self, s, "baseline", "/amq/queue/bench-baseline", dir.path());
  Result backend = run_child(self, s, "backend", "/amq/queue/bench-backend", dir.path());
  double base_rate = baseline.accepted / baseline.seconds;
  double backend_rate = backend.accepted / backend.seconds;
  std::printf("%d messages of %d bytes into RabbitMQ 3.10 (AMQP 1.0), window %zu\n", s.messages,
              s.size, s.window);
  auto row = [&](const char* name, double rate, const Result& r) {
    std::printf("  %-26s %9.0f msg/s  %7.2f s  CPU %5.2f s (%4.1f us/msg)  peak RSS %6.1f MiB\n",
                name, rate, r.seconds, r.cpu, r.cpu * 1e6 / s.messages, r.rss_kib / 1024.0);
  };
  row("plain Proton C++ sender", base_rate, baseline);
  row("stepline AMQP backend", backend_rate, backend);
  std::printf("  ratio backend/baseline: %.2f\n", backend_rate / base_rate);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--mode")
      s.mode = next();
    else if (arg == "--url")
      s.url = next();
    else if (arg == "--connection-string")
      s.connection_string = next();
    else if (arg == "--address")
      s.address = next();
    else if (arg == "--messages")
      s.messages = std::stoi(next());
    else if (arg == "--size")
      s.size = std::stoi(next());
    else if (arg == "--window")
      s.window = std::stoul(next());
  }
  try {
    if (s.mode == "baseline") return run_baseline(s);
    if (s.mode == "backend") return run_backend(s);
    return run_driver(argv[0], s);
  } catch (const std::exception& e) {
    std::cerr << "bench_amqp: " << e.what() << "\n";
    return 1;
  }
}
