// The exposition text of counters, gauges and histograms: exact lines for simple cases, escaping
// of hostile label values, histogram consistency, the series limit, and promtool's verdict.
#include <doctest/doctest.h>

#include <thread>

#include <stepline/prometheus/registry.hpp>

#include "testkit/promtool.hpp"

using namespace stepline::prometheus;
using stepline::test::promtool_check;

namespace {

bool contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

}  // namespace

TEST_CASE("a counter and a gauge are written with HELP, TYPE and one line per series") {
  Registry r;
  auto& requests = r.counter("app_requests_total", "Requests served.", {"route", "status"});
  auto& open = r.gauge("app_connections", "Connections open now.");
  requests.labels({"/a", "200"}).inc();
  requests.labels({"/a", "200"}).inc(2);
  requests.labels({"/b", "404"}).inc();
  open.get().set(3);
  auto text = r.text();
  CHECK(text ==
        "# HELP app_requests_total Requests served.\n"
        "# TYPE app_requests_total counter\n"
        "app_requests_total{route=\"/a\",status=\"200\"} 3\n"
        "app_requests_total{route=\"/b\",status=\"404\"} 1\n"
        "# HELP app_connections Connections open now.\n"
        "# TYPE app_connections gauge\n"
        "app_connections 3\n");
}

TEST_CASE("a family without labels shows 0 before its first event") {
  Registry r;
  r.counter("app_starts_total", "Starts.");
  CHECK(contains(r.text(), "\napp_starts_total 0\n"));
}

TEST_CASE("label values and help text are escaped; bytes that are not UTF-8 become U+FFFD") {
  Registry r;
  auto& c = r.counter("app_events_total", "Line one\nback\\slash \"quoted\"", {"entity"});
  c.labels({"a\"b\\c\nd"}).inc();
  c.labels({std::string("bad\xff\xfe utf8 \xc3\xa6")}).inc();
  auto text = r.text();
  CHECK(contains(text, "# HELP app_events_total Line one\\nback\\\\slash \"quoted\"\n"));
  CHECK(contains(text, "app_events_total{entity=\"a\\\"b\\\\c\\nd\"} 1\n"));
  CHECK(
      contains(text, "app_events_total{entity=\"bad\xEF\xBF\xBD\xEF\xBF\xBD utf8 \xc3\xa6\"} 1\n"));
  auto check = promtool_check(text);
  CHECK_MESSAGE(check.status == 0, check.output);
}

TEST_CASE("a histogram's buckets are cumulative and +Inf equals its count") {
  Registry r;
  auto& h = r.histogram("app_duration_seconds", "Durations.", {"step"}, {0.1, 1, 10});
  auto& s = h.labels({"x"});
  for (double v : {0.05, 0.1, 0.5, 2.0, 20.0}) s.observe(v);
  auto text = r.text();
  CHECK(contains(text, "app_duration_seconds_bucket{step=\"x\",le=\"0.1\"} 2\n"));
  CHECK(contains(text, "app_duration_seconds_bucket{step=\"x\",le=\"1\"} 3\n"));
  CHECK(contains(text, "app_duration_seconds_bucket{step=\"x\",le=\"10\"} 4\n"));
  CHECK(contains(text, "app_duration_seconds_bucket{step=\"x\",le=\"+Inf\"} 5\n"));
  CHECK(contains(text, "app_duration_seconds_sum{step=\"x\"} " +
                           format_value(0.05 + 0.1 + 0.5 + 2.0 + 20.0) + "\n"));
  CHECK(contains(text, "app_duration_seconds_count{step=\"x\"} 5\n"));
}

TEST_CASE("histograms stay consistent while threads observe during a scrape") {
  Registry r;
  auto& h = r.histogram("app_latency_seconds", "Latency.", {}, duration_buckets()).get();
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop) h.observe(0.003);
  });
  // Scrape until the writer has made many observations (generous deadline for a loaded machine).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::uint64_t seen = 0;
  while (seen < 100000 && std::chrono::steady_clock::now() < deadline) {
    auto s = h.snapshot();
    for (std::size_t k = 1; k < s.cumulative.size(); ++k)
      REQUIRE(s.cumulative[k] >= s.cumulative[k - 1]);
    seen = s.cumulative.back();
  }
  stop = true;
  writer.join();
  CHECK(seen >= 100000);
}

TEST_CASE("past its series limit a family folds new label values into one overflow series") {
  Registry r;
  auto& c = r.counter("app_tables_total", "Per table.", {"entity"}, 4);
  for (int i = 0; i < 100; ++i) c.labels({"table" + std::to_string(i)}).inc();
  auto text = r.text();
  CHECK(contains(text, "app_tables_total{entity=\"table0\"} 1\n"));
  CHECK(contains(text, "app_tables_total{entity=\"table2\"} 1\n"));
  CHECK_FALSE(contains(text, "table3"));
  CHECK(contains(text, "app_tables_total{entity=\"overflow\"} 97\n"));
}

TEST_CASE("bad names, repeated names and wrong label counts are refused") {
  Registry r;
  CHECK_THROWS_AS(r.counter("9lives_total", "x"), std::invalid_argument);
  CHECK_THROWS_AS(r.counter("app-x_total", "x"), std::invalid_argument);
  CHECK_THROWS_AS(r.counter("app_x_total", "x", {"__reserved"}), std::invalid_argument);
  CHECK_THROWS_AS(r.histogram("app_h", "x", {"le"}, {1}), std::invalid_argument);
  CHECK_THROWS_AS(r.histogram("app_h", "x", {}, {2, 1}), std::invalid_argument);
  auto& c = r.counter("app_y_total", "y", {"a"});
  CHECK_THROWS_AS(r.gauge("app_y_total", "again"), std::invalid_argument);
  CHECK_THROWS_AS(c.labels({"1", "2"}), std::invalid_argument);
}

TEST_CASE("values are written as the format reads them") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(1.5) == "1.5");
  CHECK(format_value(1e-5) == "1e-05");
  CHECK(format_value(1.0 / 0.0) == "+Inf");
  CHECK(format_value(-1.0 / 0.0) == "-Inf");
  CHECK(format_value(0.0 / 0.0) == "NaN");
}

TEST_CASE("promtool accepts a registry with every kind of family, scrape collectors included") {
  Registry r;
  r.counter("app_operations_total", "Operations by message.", {"message", "outcome"})
      .labels({"Create", "succeeded"})
      .inc(7);
  r.histogram("app_operation_duration_seconds", "Operation durations.", {"message"},
              duration_buckets())
      .labels({"Update"})
      .observe(0.002);
  auto& jobs = r.gauge("app_jobs", "Jobs by status.", {"status"});
  int scrapes = 0;
  r.on_scrape([&] {
    jobs.clear();
    jobs.labels({"ready"}).set(++scrapes);
  });
  r.text();
  auto text = r.text();
  CHECK(contains(text, "app_jobs{status=\"ready\"} 2\n"));
  auto check = promtool_check(text);
  CHECK_MESSAGE(check.status == 0, (check.output + "\n" + text));
}

TEST_CASE("a counter read from elsewhere advances to the total and never goes back") {
  Registry r;
  auto& c = r.counter("app_done_total", "Done.").get();
  c.advance_to(5);
  c.advance_to(3);
  CHECK(c.value() == 5);
  c.inc();
  c.advance_to(6);
  CHECK(c.value() == 6);
}
