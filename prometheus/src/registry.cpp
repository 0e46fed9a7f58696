#include <stepline/prometheus/registry.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

namespace stepline::prometheus {
namespace {

constexpr std::string_view overflow_value = "overflow";

bool metric_name_char(char c, bool first) {
  bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  return letter || (!first && c >= '0' && c <= '9');
}

bool label_name_ok(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (name[i] == ':' || !metric_name_char(name[i], i == 0)) return false;
  return true;
}

// Length of the UTF-8 sequence starting at `s[i]`, or 0 when it is not a valid one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  unsigned char second = byte(i + 1);
  if (c == 0xE0 && second < 0xA0) return 0;  // overlong
  if (c == 0xED && second > 0x9F) return 0;  // surrogates
  if (c == 0xF0 && second < 0x90) return 0;  // overlong
  if (c == 0xF4 && second > 0x8F) return 0;  // beyond U+10FFFF
  return n;
}

std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else if (std::size_t n = utf8_sequence(text, i); n > 1) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    } else if (n == 1) {
      out += c;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD for a byte that starts no valid sequence
    }
    ++i;
  }
  return out;
}

std::string label_text(const std::vector<std::string>& names,
                       const std::vector<std::string>& values, std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

void Counter::inc(double by) noexcept {
  if (by > 0) value_.fetch_add(by, std::memory_order_relaxed);
}

void Counter::advance_to(double total) noexcept {
  double now = value_.load(std::memory_order_relaxed);
  while (total > now && !value_.compare_exchange_weak(now, total, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_->size() + 1)) {}

void Histogram::observe(double value) noexcept {
  const auto& b = *bounds_;
  // The first bucket whose bound is at least the value; NaN lands in +Inf.
  std::size_t i = std::lower_bound(b.begin(), b.end(), value) - b.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.resize(bounds_->size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_->size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
  if (start <= 0 || factor <= 1 || count < 1)
    throw std::invalid_argument("exponential_buckets: start > 0, factor > 1 and count >= 1");
  std::vector<double> out;
  double bound = start;
  for (int i = 0; i < count; ++i, bound *= factor) out.push_back(bound);
  return out;
}

std::vector<double> duration_buckets() {
  // 100 µs, 250 µs, 500 µs, 1 ms, … 10 s: a 1-2.5-5 series, readable in dashboards.
  std::vector<double> out;
  for (double decade = 1e-4; decade < 20; decade *= 10)
    for (double step : {1.0, 2.5, 5.0})
      if (decade * step <= 10.0) out.push_back(decade * step);
  return out;
}

template <class Metric>
Family<Metric>::Family(std::vector<std::string> label_names, std::size_t limit,
                       std::function<std::unique_ptr<Metric>()> make)
    : label_names_(std::move(label_names)),
      limit_(std::max<std::size_t>(limit, 1)),
      make_(std::move(make)) {}

template <class Metric>
Metric& Family<Metric>::find_or_add(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size())
    throw std::invalid_argument("a series needs " + std::to_string(label_names_.size()) +
                                " label values, not " + std::to_string(values.size()));
  std::lock_guard lock(mutex_);
  if (auto it = series_.find(values); it != series_.end()) return *it->second;
  std::vector<std::string> key(values.begin(), values.end());
  if (series_.size() + 1 >= limit_ && !label_names_.empty())
    key.assign(label_names_.size(), std::string(overflow_value));
  auto& slot = series_[std::move(key)];
  if (!slot) slot = make_();
  return *slot;
}

template <class Metric>
Metric& Family<Metric>::labels(std::initializer_list<std::string_view> values) {
  return find_or_add(std::span<const std::string_view>(values.begin(), values.size()));
}

template <class Metric>
Metric& Family<Metric>::labels(const std::vector<std::string>& values) {
  std::vector<std::string_view> views(values.begin(), values.end());
  return find_or_add(views);
}

template <class Metric>
void Family<Metric>::clear() {
  std::lock_guard lock(mutex_);
  series_.clear();
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Entry {
  std::string name;
  std::string help;
  std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
               std::unique_ptr<Family<Histogram>>>
      family;
};

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::check_name(const std::string& name, const std::vector<std::string>& labels) const {
  bool ok = !name.empty();
  for (std::size_t i = 0; ok && i < name.size(); ++i) ok = metric_name_char(name[i], i == 0);
  if (!ok)
    throw std::invalid_argument("'" + name + "' is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
  for (const auto& e : entries_)
    if (e->name == name) throw std::invalid_argument("metric '" + name + "' is added twice");
  for (const auto& label : labels) {
    if (!label_name_ok(label) || label == "le")
      throw std::invalid_argument("metric '" + name + "': '" + label + "' is not a label name");
    if (std::count(labels.begin(), labels.end(), label) > 1)
      throw std::invalid_argument("metric '" + name + "': label '" + label + "' named twice");
  }
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> labels, std::size_t series_limit) {
  check_name(name, labels);
  bool bare = labels.empty();
  std::unique_ptr<Family<Counter>> family(new Family<Counter>(
      std::move(labels), series_limit, [] { return std::make_unique<Counter>(); }));
  auto& out = *family;
  std::lock_guard lock(scrape_mutex_);
  entries_.push_back(std::make_unique<Entry>(Entry{name, help, std::move(family)}));
  if (bare) out.get();  // a family without labels shows 0 before its first event
  return out;
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                               std::vector<std::string> labels, std::size_t series_limit) {
  check_name(name, labels);
  bool bare = labels.empty();
  std::unique_ptr<Family<Gauge>> family(
      new Family<Gauge>(std::move(labels), series_limit, [] { return std::make_unique<Gauge>(); }));
  auto& out = *family;
  std::lock_guard lock(scrape_mutex_);
  entries_.push_back(std::make_unique<Entry>(Entry{name, help, std::move(family)}));
  if (bare) out.get();
  return out;
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> labels, std::vector<double> bounds,
                                       std::size_t series_limit) {
  check_name(name, labels);
  if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end() ||
      std::any_of(bounds.begin(), bounds.end(), [](double b) { return !std::isfinite(b); }))
    throw std::invalid_argument("metric '" + name +
                                "': bucket bounds must be finite, ascending and distinct");
  bool bare = labels.empty();
  auto shared = std::make_shared<const std::vector<double>>(std::move(bounds));
  std::unique_ptr<Family<Histogram>> family(new Family<Histogram>(
      std::move(labels), series_limit, [shared] { return std::make_unique<Histogram>(shared); }));
  auto& out = *family;
  std::lock_guard lock(scrape_mutex_);
  entries_.push_back(std::make_unique<Entry>(Entry{name, help, std::move(family)}));
  if (bare) out.get();
  return out;
}

void Registry::on_scrape(std::function<void()> collect) {
  std::lock_guard lock(scrape_mutex_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::text() {
  std::lock_guard lock(scrape_mutex_);
  for (auto& collect : collectors_) collect();
  std::string out;
  for (const auto& e : entries_) {
    auto header = [&](std::string_view type) {
      out += "# HELP " + e->name + " " + escape_help(e->help) + "\n";
      out += "# TYPE " + e->name + " ";
      out += type;
      out += '\n';
    };
    std::visit(
        [&](const auto& family) {
          using F = std::decay_t<decltype(*family)>;
          std::lock_guard series_lock(family->mutex_);
          if constexpr (std::is_same_v<F, Family<Histogram>>) {
            header("histogram");
            for (const auto& [values, h] : family->series_) {
              auto s = h->snapshot();
              const auto& bounds = h->bounds();
              for (std::size_t i = 0; i <= bounds.size(); ++i) {
                std::string le = i < bounds.size() ? format_value(bounds[i]) : "+Inf";
                out += e->name + "_bucket" + label_text(family->label_names_, values, "le", le) +
                       " " + std::to_string(s.cumulative[i]) + "\n";
              }
              std::string labels = label_text(family->label_names_, values);
              out += e->name + "_sum" + labels + " " + format_value(s.sum) + "\n";
              out += e->name + "_count" + labels + " " + std::to_string(s.cumulative.back()) + "\n";
            }
          } else {
            header(std::is_same_v<F, Family<Counter>> ? "counter" : "gauge");
            for (const auto& [values, m] : family->series_)
              out += e->name + label_text(family->label_names_, values) + " " +
                     format_value(m->value()) + "\n";
          }
        },
        e->family);
  }
  return out;
}

std::string escape_label_value(std::string_view value) {
  return escape(value, true);
}

std::string escape_help(std::string_view help) {
  return escape(help, false);
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

}  // namespace stepline::prometheus
