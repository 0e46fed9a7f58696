// Posts N execution contexts of about 1 KiB through the endpoint poster and the AMQP backend into
// stepline-broker and, as the baseline, the same number of messages of the same encoded size
// through bench/amqp's plain Proton C++ sender (`bench_amqp --mode baseline`), to the same broker
// in the same run. Each side runs in its own child process so its peak RSS is its own. The
// poster's side includes what a real post costs: serializing the context (dataverse-json),
// the claim properties and the size check. The two sides take turns for --rounds rounds (the
// first side alternates), and the figure to quote is the median of the rounds' ratios: on a
// shared machine one round can be off by a factor of two either way.
//
//   bench_endpoints [--messages N] [--window W] [--format F] [--rounds R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <stepline/format/binary.hpp>
#include <stepline/host/amqp/backend.hpp>
#include <stepline/host/endpoints/amqp_endpoint_poster.hpp>
#include <stepline/host/endpoints/endpoint_message.hpp>

#include "child_run.hpp"
#include "sample_context.hpp"
#include "testkit/message_receiver.hpp"
#include "testkit/process.hpp"
#include "testkit/stepline_broker.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace stepline;

struct Settings {
  std::string mode = "driver";  // driver | poster
  std::string connection_string;
  int messages = 100000;
  std::size_t window = 256;
  std::string format = "dataverse-json";
  int rounds = 3;
};

registration::ServiceEndpoint bench_endpoint(const Settings& s) {
  registration::ServiceEndpoint e;
  e.name = "bench";
  e.contract = registration::Contract::queue;
  e.path = "bench-poster";
  e.connection = azure::ConnectionString::parse(s.connection_string);
  e.auth = registration::AuthMechanism::plain;  // as the baseline logs in
  e.format = s.format;
  e.timeout = std::chrono::seconds(120);
  return e;
}

int run_poster(const Settings& s) {
  host::amqp::BackendOptions options;
  options.window = s.window;
  host::amqp::Backend backend(options);
  host::endpoints::AmqpEndpointPoster poster(backend);
  const registration::ServiceEndpoint endpoint = bench_endpoint(s);
  ExecutionContext context = bench::kibibyte_context();

  int accepted = 0;
  std::deque<std::future<host::amqp::Outcome>> pending;
  auto settle_one = [&] {
    accepted += pending.front().get().ok();
    pending.pop_front();
  };
  auto start = Clock::now();
  for (int i = 0; i < s.messages; ++i) {
    context.operation_id = Guid::random();  // each post is its own operation
    pending.push_back(poster.post(endpoint, context));
    if (pending.size() > 2 * s.window) settle_one();
  }
  while (!pending.empty()) settle_one();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  backend.shutdown();
  bench::print_result(seconds, accepted);
  return accepted == s.messages ? 0 : 1;
}

int run_driver(const char* self, const Settings& s) {
  // `guest`/`guest` is the login bench_amqp's baseline sender uses.
  test::SteplineBroker broker(R"(
sas_policies:
  - name: guest
    key: guest
    rights: [manage, send, listen]
queues:
  - name: bench-baseline
  - name: bench-poster
)");
  test::TempDir dir("stepline-bench-endpoints-");
  // Consumers keep both queues short, so the broker works the same way for both senders.
  const test::ReceiverOptions guest{.user = "guest", .password = "guest", .reply = {}};
  test::MessageReceiver baseline_queue(broker.url(), {"bench-baseline"}, guest,
                                       test::Keep::count_only);
  test::MessageReceiver poster_queue(broker.url(), {"bench-poster"}, guest, test::Keep::count_only);

  Settings poster_settings = s;
  poster_settings.connection_string = broker.connection_string("guest", "guest");
  // The baseline sends a body as large as the poster's whole encoded message.
  auto endpoint = bench_endpoint(poster_settings);
  endpoint.max_message_size = 1 << 20;
  std::size_t message_bytes =
      host::endpoints::compose_message(endpoint, bench::kibibyte_context()).message.encode().size();

  auto baseline_run = [&] {
    return bench::run_child(bench::baseline_sender(self, poster_settings.connection_string,
                                                   "bench-baseline", s.messages, message_bytes),
                            "baseline", dir.path());
  };
  auto poster_run = [&] {
    return bench::run_child(
        {self, "--mode", "poster", "--connection-string", poster_settings.connection_string,
         "--messages", std::to_string(s.messages), "--window", std::to_string(s.window), "--format",
         s.format},
        "poster", dir.path());
  };

  std::printf(
      "%d posts of a %s context (body %zu bytes, message %zu bytes encoded) into "
      "stepline-broker, window %zu, %d round(s)\n",
      s.messages, s.format.c_str(),
      format::serialize_any_format(bench::kibibyte_context(), s.format).size(), message_bytes,
      s.window, s.rounds);
  bench::compare_in_rounds(s.rounds, s.messages,
                           {"plain Proton C++ sender (same size)", baseline_run},
                           {"endpoint poster + AMQP backend", poster_run});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"Posting throughput of the endpoint poster against a plain Proton C++ sender"};
  app.add_option("--messages", s.messages, "posts per side")->check(CLI::PositiveNumber);
  app.add_option("--window", s.window, "the backend's window per link")->check(CLI::PositiveNumber);
  app.add_option("--format", s.format, "the endpoint's format (a registered format's name)")
      ->check(CLI::Validator(
          [](const std::string& name) {
            return format::find_format(name) ? std::string() : "no format named " + name;
          },
          "FORMAT"));
  app.add_option("--rounds", s.rounds, "rounds of both sides; the median ratio is reported")
      ->check(CLI::PositiveNumber);
  // How the driver runs the poster's side as a child process.
  app.add_option("--mode", s.mode, "driver, or the poster's side")
      ->check(CLI::IsMember({"driver", "poster"}))
      ->group("");
  app.add_option("--connection-string", s.connection_string, "the broker")->group("");
  CLI11_PARSE(app, argc, argv);
  try {
    if (s.mode == "poster") return run_poster(s);
    return run_driver(argv[0], s);
  } catch (const std::exception& e) {
    std::cerr << "bench_endpoints: " << e.what() << "\n";
    return 1;
  }
}
