// Webhook posting against its peers, into the same local receiver (testkit's Node
// receiver, counting only) in the same run: the host's WebhookPoster one post at a time and with
// a window of concurrent posts, `curl` in a shell-style loop (one process per post) and a Node
// `fetch` loop (one post at a time, in one process). Each post is the same ~1.5 KiB
// dataverse-json body; the host adds its ten headers, the peers send the body with its content
// type. Then the cost of a claim check per MiB: the host's upload (SHA-256, MD5, Shared Key, one
// Put Blob) against @azure/storage-blob's upload() of the same size, into the same Azurite.
// The sides take turns for --rounds rounds (the first side alternates) and the figures to quote
// are the medians of the rounds' ratios.
//
//   bench_webhook [--posts N] [--curl-posts M] [--window W] [--rounds R] [--mib S] [--uploads K]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <stepline/format/format.hpp>
#include <stepline/host/claim_check/blob_store.hpp>
#include <stepline/host/http_client/client.hpp>
#include <stepline/host/webhook/webhook_poster.hpp>

#include "sample_context.hpp"
#include "testkit/azurite.hpp"
#include "testkit/process.hpp"
#include "testkit/webhook_receiver.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace stepline;

struct Settings {
  int posts = 5000;
  int curl_posts = 300;
  std::size_t window = 32;
  int rounds = 3;
  int mib = 4;
  int uploads = 10;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

/// Posts per second of the host's poster with `window` posts outstanding.
double stepline_rate(const std::string& url, int posts, std::size_t window) {
  host::http_client::Client client;
  host::webhook::WebhookPoster poster(client);
  registration::ServiceEndpoint e;
  e.name = "bench";
  e.contract = registration::Contract::webhook;
  e.webhook = registration::Webhook{url, registration::WebhookAuth::none, {}, {}};
  const ExecutionContext context = bench::kibibyte_context();
  std::deque<std::future<host::amqp::Outcome>> pending;
  int failed = 0;
  auto settle = [&] {
    if (!pending.front().get().ok()) ++failed;
    pending.pop_front();
  };
  auto start = Clock::now();
  for (int i = 0; i < posts; ++i) {
    if (pending.size() >= window) settle();
    pending.push_back(poster.post(e, context));
  }
  while (!pending.empty()) settle();
  double seconds = seconds_since(start);
  if (failed) throw std::runtime_error(std::to_string(failed) + " posts failed");
  return posts / seconds;
}

/// Posts per second of `curl` run once per post, as a shell loop does.
double curl_rate(const std::string& url, const std::string& body_file, int posts) {
  auto start = Clock::now();
  for (int i = 0; i < posts; ++i)
    if (test::run({"curl", "-sf", "-o", "/dev/null", "-X", "POST", "-H",
                   "content-type: application/json", "--data-binary", "@" + body_file, url}) != 0)
      throw std::runtime_error("curl failed");
  return posts / seconds_since(start);
}

/// Posts per second of a Node fetch loop, timed inside Node (its start-up excluded).
double node_rate(const std::string& url, const std::string& body_file, int posts,
                 const std::filesystem::path& dir) {
  const auto script = dir / "fetch_loop.mjs";
  std::ofstream(script) << R"(import { readFileSync } from "node:fs";
const [url, file, posts] = process.argv.slice(2);
const body = readFileSync(file);
const started = process.hrtime.bigint();
for (let i = 0; i < Number(posts); i++) {
  const response = await fetch(url, { method: "POST", body,
                                      headers: { "content-type": "application/json" } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  await response.arrayBuffer();
}
console.log(`result ${Number(process.hrtime.bigint() - started) / 1e9}`);
)";
  const auto out = dir / "fetch_loop.out";
  std::filesystem::remove(out);
  if (test::run({"node", script.string(), url, body_file, std::to_string(posts)}, {}, out) != 0)
    throw std::runtime_error("the Node fetch loop failed:\n" + test::tail(out));
  std::ifstream in(out);
  std::string word;
  double seconds = 0;
  while (in >> word)
    if (word == "result") in >> seconds;
  return posts / seconds;
}

/// Seconds per MiB of the host's claim-check upload of `mib` MiB, `uploads` times.
double stepline_upload(const test::Azurite& azurite, int mib, int uploads) {
  host::http_client::Client client;
  host::claim_check::BlobStore store(client);
  registration::ClaimCheck settings{
      azure::StorageConnectionString::parse(azurite.connection_string()), "bench-host", {}, {}};
  const std::string body(static_cast<std::size_t>(mib) << 20, 'x');
  auto start = Clock::now();
  for (int i = 0; i < uploads; ++i) {
    auto upload = store.put(settings, "bench/" + std::to_string(i), body,
                            format::format_named("json"), std::chrono::minutes(2));
    if (!upload.reference) throw std::runtime_error(upload.error);
  }
  return seconds_since(start) / (uploads * mib);
}

/// The same for @azure/storage-blob (testkit/azurite/upload_loop.mjs).
double sdk_upload(const test::Azurite& azurite, int mib, int uploads,
                  const std::filesystem::path& dir) {
  const auto out = dir / "upload_loop.out";
  std::filesystem::remove(out);
  if (test::run({"node", test::azurite_npm_folder() + "/upload_loop.mjs", "bench-sdk",
                 std::to_string(static_cast<long>(mib) << 20), std::to_string(uploads)},
                {{"STEPLINE_CLAIM_CHECK_CONNECTION", azurite.connection_string()}}, out) != 0)
    throw std::runtime_error("upload_loop.mjs failed:\n" + test::tail(out));
  std::ifstream in(out);
  std::string word;
  double seconds = 0;
  while (in >> word)
    if (word == "result") in >> seconds;
  return seconds / (uploads * mib);
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"Webhook posts and claim-check uploads against their peers, same run"};
  app.add_option("--posts", s.posts, "posts per round of the host and of the Node loop");
  app.add_option("--curl-posts", s.curl_posts, "posts per round of the curl loop");
  app.add_option("--window", s.window, "posts the host keeps outstanding in its concurrent run");
  app.add_option("--rounds", s.rounds, "rounds; the medians are quoted");
  app.add_option("--mib", s.mib, "size of a claim-checked body, MiB");
  app.add_option("--uploads", s.uploads, "uploads per round and side");
  CLI11_PARSE(app, argc, argv);

  try {
    test::TempDir dir("stepline-bench-webhook-");
    const std::string body_file = (dir.path() / "body.json").string();
    std::ofstream(body_file) << format::serialize(bench::kibibyte_context(), "dataverse-json");
    test::WebhookReceiver receiver({.count_only = true});
    const std::string url = receiver.url();
    std::vector<double> vs_curl, vs_node, window_vs_node;
    std::printf("%-6s %12s %12s %12s %12s   (posts/s)\n", "round", "host w=1",
                ("host w=" + std::to_string(s.window)).c_str(), "curl loop", "node fetch");
    for (int round = 0; round < s.rounds; ++round) {
      double host1 = 0, hostw = 0, curl = 0, node = 0;
      std::vector<std::function<void()>> sides = {
          [&] { host1 = stepline_rate(url, s.posts, 1); },
          [&] { hostw = stepline_rate(url, s.posts, s.window); },
          [&] { curl = curl_rate(url, body_file, s.curl_posts); },
          [&] { node = node_rate(url, body_file, s.posts, dir.path()); }};
      if (round % 2) std::reverse(sides.begin(), sides.end());
      for (auto& side : sides) side();
      std::printf("%-6d %12.0f %12.0f %12.0f %12.0f\n", round + 1, host1, hostw, curl, node);
      vs_curl.push_back(host1 / curl);
      vs_node.push_back(host1 / node);
      window_vs_node.push_back(hostw / node);
    }
    std::printf(
        "median ratios: host w=1 / curl loop %.1f, host w=1 / node fetch %.2f, host w=%zu "
        "/ node fetch %.2f\n",
        median(vs_curl), median(vs_node), s.window, median(window_vs_node));
    std::printf("receiver counted %ld posts\n", receiver.count());

    test::Azurite azurite;
    std::vector<double> host_cost, sdk_cost;
    std::printf("\n%-6s %14s %14s   (ms per MiB, %d MiB bodies)\n", "round", "host upload",
                "storage-blob", s.mib);
    for (int round = 0; round < s.rounds; ++round) {
      double host = 0, sdk = 0;
      if (round % 2) {
        sdk = sdk_upload(azurite, s.mib, s.uploads, dir.path());
        host = stepline_upload(azurite, s.mib, s.uploads);
      } else {
        host = stepline_upload(azurite, s.mib, s.uploads);
        sdk = sdk_upload(azurite, s.mib, s.uploads, dir.path());
      }
      std::printf("%-6d %14.1f %14.1f\n", round + 1, host * 1e3, sdk * 1e3);
      host_cost.push_back(host);
      sdk_cost.push_back(host / sdk);
    }
    std::printf("median: host %.1f ms per MiB, %.2f times @azure/storage-blob's\n",
                median(host_cost) * 1e3, median(sdk_cost));
  } catch (const std::exception& e) {
    std::cerr << "bench_webhook: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
