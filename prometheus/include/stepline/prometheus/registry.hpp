// Metrics in the Prometheus text exposition format (version 0.0.4): counters, gauges and
// histograms, each a family of series told apart by label values. Updating a series is a few
// atomic operations, so it can sit on every operation's path; a scrape renders the whole
// registry. The number of series per family is capped, so label values taken from requests
// (tables, messages) cannot grow memory without bound.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stepline::prometheus {

/// What a /metrics response carries as its Content-Type.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

/// A value that only goes up (requests served, posts failed). Its name ends in `_total`.
class Counter {
 public:
  /// Adds `by`, which must not be negative (a negative amount is ignored).
  void inc(double by = 1) noexcept;
  /// For a total counted elsewhere and read at scrape time: raises the value to `total` (never
  /// lowers it, so the counter stays monotonic).
  void advance_to(double total) noexcept;
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// A value that goes up and down (connections open, jobs waiting).
class Gauge {
 public:
  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void inc(double by = 1) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  void dec(double by = 1) noexcept { value_.fetch_sub(by, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Observations counted into buckets by upper bound (durations, sizes).
class Histogram {
 public:
  /// `bounds` are the buckets' upper bounds, ascending; the +Inf bucket is implied.
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
  void observe(double value) noexcept;

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  ///< per bound, then +Inf (= count)
    double sum = 0;
  };
  /// Consistent counts: the +Inf bucket always equals the sum of the buckets.
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const noexcept { return *bounds_; }

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  ///< per bound, then +Inf
  std::atomic<double> sum_{0};
};

/// Bounds start, start·factor, start·factor², … (`count` of them).
std::vector<double> exponential_buckets(double start, double factor, int count);
/// Seconds from 100 µs to about 10 s, for operation, step and post durations.
std::vector<double> duration_buckets();

/// Series of one metric, one per combination of label values.
template <class Metric>
class Family {
 public:
  /// The series for these label values (in the order the family's labels were named), created
  /// at first use. The reference stays valid until clear(). Past the family's series limit, new
  /// combinations share one series whose every label is "overflow". Throws
  /// std::invalid_argument when the number of values differs from the number of labels.
  Metric& labels(std::initializer_list<std::string_view> values);
  Metric& labels(const std::vector<std::string>& values);
  /// The series without labels (a family named with none).
  Metric& get() { return labels({}); }
  /// Drops every series: for families a collector fills afresh before each scrape.
  void clear();

 private:
  friend class Registry;
  Family(std::vector<std::string> label_names, std::size_t limit,
         std::function<std::unique_ptr<Metric>()> make);
  Metric& find_or_add(std::span<const std::string_view> values);

  /// Orders label-value lists, and compares a stored list with the values asked for without
  /// copying them: a series that exists costs no allocation to find.
  struct Order {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(),
          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };

  std::vector<std::string> label_names_;
  std::size_t limit_;
  std::function<std::unique_ptr<Metric>()> make_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, Order> series_;
};

/// Every family a process exposes. Families are added at start-up; names are checked then
/// (std::invalid_argument for a bad or repeated name), so a scrape can never produce text a
/// Prometheus server refuses.
class Registry {
 public:
  /// Series per family at most, unless a family is given its own limit.
  static constexpr std::size_t default_series_limit = 1000;

  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>& counter(const std::string& name, const std::string& help,
                           std::vector<std::string> labels = {},
                           std::size_t series_limit = default_series_limit);
  Family<Gauge>& gauge(const std::string& name, const std::string& help,
                       std::vector<std::string> labels = {},
                       std::size_t series_limit = default_series_limit);
  Family<Histogram>& histogram(const std::string& name, const std::string& help,
                               std::vector<std::string> labels, std::vector<double> bounds,
                               std::size_t series_limit = default_series_limit);

  /// Runs before every scrape, under the scrape's lock: for values read from elsewhere (a
  /// database count, another component's statistics) into gauges or counters.
  void on_scrape(std::function<void()> collect);

  /// The exposition: every family in the order added, series sorted by label values.
  std::string text();

 private:
  struct Entry;
  void check_name(const std::string& name, const std::vector<std::string>& labels) const;

  std::mutex scrape_mutex_;
  std::vector<std::unique_ptr<Entry>> entries_;
  std::vector<std::function<void()>> collectors_;
};

/// Label values and help text escaped for the text format: backslash, double quote (label
/// values only) and newline; bytes that are not UTF-8 become U+FFFD.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
/// A sample value as the format writes it: shortest round-trip text, +Inf, -Inf, NaN.
std::string format_value(double value);

}  // namespace stepline::prometheus
