#include "stepline/host/amqp/backend.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <proton/container.hpp>
#include <proton/work_queue.hpp>
#include <stepline/thread_name.hpp>

#include "connection.hpp"
#include "post.hpp"
#include "stepline/host/log.hpp"

namespace stepline::host::amqp {
namespace {

constexpr auto tick_interval = std::chrono::milliseconds(100);
constexpr auto close_poll = std::chrono::milliseconds(5);
constexpr char separator = '\x1f';
constexpr char link_separator = '\x1e';  // between the connection key and the entity

// Posts share a connection when they go to the same namespace with the same credential and
// mechanism; the key holds secrets, so it stays in memory and is never printed.
std::string connection_key(const Target& t) {
  const auto& cs = t.connection;
  std::string key = cs.host;
  for (const std::string& part :
       {std::to_string(cs.effective_port()), std::string(cs.uses_tls() ? "tls" : "tcp"), cs.scheme,
        std::string(t.auth == Auth::plain ? "plain" : "cbs"), cs.shared_access_key_name,
        cs.shared_access_key, cs.shared_access_signature}) {
    key += separator;
    key += part;
  }
  return key;
}

std::string link_key(const std::string& connection, const Target& t) {
  std::string key = connection + link_separator + t.entity;
  if (t.awaits_reply) key += separator + ("reply:" + t.reply_to);
  return key;
}

// Refuses targets that can never work, before they take a place in a window. Checked once per
// route, not per post.
std::string configuration_problem(const Target& t, const BackendOptions& options) {
  const auto& cs = t.connection;
  if (t.entity.empty()) return "no entity to post to; set the endpoint's path";
  if (cs.host.empty()) return "the connection string names no host";
  if (cs.scheme == "amqp" && !cs.use_development_emulator && !options.allow_plain_amqp) {
    return "Endpoint " + cs.endpoint +
           " asks for plain amqp:// without TLS; use sb:// or amqps://, or add "
           "UseDevelopmentEmulator=true for a local emulator";
  }
  // A SharedAccessSignature string always goes through CBS, whatever auth says.
  if (!cs.has_key() && !cs.has_signature()) {
    return "the connection string has neither SharedAccessKey nor SharedAccessSignature";
  }
  return {};
}

}  // namespace

class Backend::Impl final : public Runtime {
 public:
  explicit Impl(BackendOptions options) : options_(std::move(options)), work_(container_) {
    container_.auto_stop(false);
    thread_ = std::thread([this] {
      name_this_thread("sl-amqp");
      try {
        container_.run();
      } catch (const std::exception& e) {
        log::error("amqp: the AMQP thread stopped: {}", e.what());
      }
    });
    work_.add([this] { tick(); });
  }

  ~Impl() override { shutdown(std::chrono::seconds(5)); }

  void post(const Target& target, proton::message message, Callback done) {
    auto post = std::make_shared<Post>();
    post->message = std::move(message);
    admit(target, std::move(post), std::move(done));
  }

  void post(const Target& target, EncodedMessage message, Callback done) {
    auto post = std::make_shared<Post>();
    post->encoded = std::move(message.bytes);
    admit(target, std::move(post), std::move(done));
  }

  void admit(const Target& target, std::shared_ptr<Post> post, Callback done) {
    post->done = std::move(done);
    post->deadline = Clock::now() + target.timeout;
    {
      std::unique_lock lock(mutex_);
      post->route = route_for(target);
      if (!post->route->problem.empty()) {
        lock.unlock();
        ++failed_;
        post->done(Outcome::failure(local_condition::configuration,
                                    "endpoint '" + target.name + "': " + post->route->problem));
        return;
      }
      auto& admitted = *post->route->admitted;
      if (admitted >= options_.window) {
        // Wait for a quarter of the window to free up rather than for one place, so a fast
        // caller and the AMQP thread trade batches instead of single messages.
        room_.wait(lock, [&] { return closing_ || admitted <= low_water(); });
      }
      if (closing_) {
        lock.unlock();
        post->done(
            Outcome::shutdown("endpoint '" + target.name + "': the AMQP backend is shutting down"));
        return;
      }
      ++admitted;
      ++outstanding_;
      ++posted_;
      // Posts travel in batches: only the post that finds the inbox empty schedules a drain,
      // so a fast caller costs the AMQP thread one wake per batch, not one per message.
      inbox_.push_back(std::move(post));
      if (inbox_.size() > 1) return;
    }
    if (!work_.add([this] { drain(); })) {
      std::vector<std::shared_ptr<Post>> stranded;
      {
        std::lock_guard lock(mutex_);
        stranded.swap(inbox_);
      }
      for (auto& p : stranded) finish(*p, Outcome::shutdown("the AMQP backend has stopped"));
    }
  }

  void shutdown(std::chrono::milliseconds grace) {
    std::lock_guard once(shutdown_mutex_);
    if (joined_) return;
    {
      std::unique_lock lock(mutex_);
      closing_ = true;
      room_.notify_all();
      drained_.wait_for(lock, grace, [&] { return outstanding_ == 0; });
    }
    bool added = work_.add([this] {
      stopping_ = true;
      for (auto& [key, connection] : connections_) {
        connection->close(
            Outcome::shutdown("the AMQP backend shut down before the service settled it"));
      }
      close_deadline_ = Clock::now() + options_.close_timeout;
      stop_once_closed();
    });
    if (!added) container_.stop();
    thread_.join();
    joined_ = true;
  }

  BackendStats stats() const {
    BackendStats s;
    s.posted = posted_;
    s.accepted = accepted_;
    s.failed = failed_;
    s.connections_opened = connections_opened_;
    s.connections_open = connections_open_;
    s.tokens_put = tokens_put_;
    s.max_unsettled = max_unsettled_;
    return s;
  }

  // Most callers post to the same few endpoints over and over: the last route is reused when the
  // target is the same, so a post costs no key building and no copy of the target.
  std::shared_ptr<const Route> route_for(const Target& t) {
    if (last_route_ && last_route_->target == t) return last_route_;
    auto route = std::make_shared<Route>();
    route->target = t;
    route->problem = configuration_problem(t, options_);
    route->connection_key = connection_key(t);
    route->link_key = link_key(route->connection_key, t);
    route->admitted = &admitted_[route->link_key];
    last_route_ = route;
    return route;
  }

  std::size_t low_water() const {
    return options_.window - std::max<std::size_t>(1, options_.window / 4);
  }

  // Runtime
  const BackendOptions& options() const override { return options_; }
  proton::container& container() override { return container_; }

  void finish(Post& post, Outcome outcome) override {
    if (post.finished) return;
    post.finished = true;
    if (outcome.ok()) {
      ++accepted_;
    } else {
      ++failed_;
      if (!post.target().name.empty()) {
        outcome.description = "endpoint '" + post.target().name + "': " + outcome.description;
      }
    }
    bool room = false, drained = false;
    {
      std::lock_guard lock(mutex_);
      room = --*post.route->admitted == low_water();
      drained = --outstanding_ == 0;
    }
    if (room) room_.notify_all();
    if (drained) drained_.notify_all();
    auto done = std::move(post.done);
    post.message = proton::message();
    std::string().swap(post.encoded);
    if (done) done(outcome);
  }

  void note_unsettled(std::size_t count) override {
    std::size_t seen = max_unsettled_.load();
    while (count > seen && !max_unsettled_.compare_exchange_weak(seen, count)) {
    }
  }
  void note_connection_opened() override {
    ++connections_opened_;
    ++connections_open_;
  }
  void note_connection_lost() override { --connections_open_; }
  void note_token_put() override { ++tokens_put_; }

 private:
  void drain() {
    std::vector<std::shared_ptr<Post>> batch;
    {
      std::lock_guard lock(mutex_);
      batch.swap(inbox_);
    }
    std::vector<Connection*> touched;
    for (auto& post : batch) {
      if (stopping_) {
        finish(*post, Outcome::shutdown("the AMQP backend is shutting down"));
        continue;
      }
      const std::string& key = post->route->connection_key;
      auto it = connections_.find(key);
      if (it == connections_.end()) {
        it = connections_.emplace(key, std::make_unique<Connection>(*this, post->target())).first;
      }
      it->second->enqueue(std::move(post));
      if (std::find(touched.begin(), touched.end(), it->second.get()) == touched.end()) {
        touched.push_back(it->second.get());
      }
    }
    for (Connection* c : touched) c->flush();
  }

  // Services answer the close of links and connections within a round trip; one that does not
  // (gone, or never answering) is dropped at the deadline, so shutdown cannot hang on it.
  void stop_once_closed() {
    const bool closed = std::all_of(connections_.begin(), connections_.end(),
                                    [](const auto& entry) { return entry.second->closed(); });
    if (closed || Clock::now() >= close_deadline_) {
      container_.stop();
      return;
    }
    work_.schedule(proton::duration(close_poll.count()), [this] { stop_once_closed(); });
  }

  void tick() {
    if (stopping_) return;
    auto now = Clock::now();
    for (auto& [key, connection] : connections_) connection->tick(now);
    work_.schedule(proton::duration(tick_interval.count()), [this] { tick(); });
  }

  BackendOptions options_;
  // Handlers outlive the container that calls them: declared first, destroyed last.
  std::map<std::string, std::unique_ptr<Connection>> connections_;
  proton::container container_;
  proton::work_queue work_;
  std::thread thread_;
  bool stopping_ = false;             // AMQP thread only
  Clock::time_point close_deadline_;  // AMQP thread only

  std::mutex shutdown_mutex_;
  bool joined_ = false;
  std::mutex mutex_;
  std::condition_variable room_;     // a window has room, or the backend is closing
  std::condition_variable drained_;  // a post finished
  std::unordered_map<std::string, std::size_t> admitted_;
  std::shared_ptr<const Route> last_route_;
  std::vector<std::shared_ptr<Post>> inbox_;  // admitted posts on their way to the AMQP thread
  std::size_t outstanding_ = 0;
  bool closing_ = false;

  std::atomic<std::int64_t> connections_open_{0};
  std::atomic<std::uint64_t> posted_{0}, accepted_{0}, failed_{0}, connections_opened_{0},
      tokens_put_{0};
  std::atomic<std::size_t> max_unsettled_{0};
};

Backend::Backend(BackendOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Backend::~Backend() = default;

std::future<Outcome> Backend::post(const Target& target, proton::message message) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  auto future = promise->get_future();
  impl_->post(target, std::move(message), [promise](const Outcome& o) { promise->set_value(o); });
  return future;
}

void Backend::post(const Target& target, proton::message message, Callback done) {
  impl_->post(target, std::move(message), std::move(done));
}

std::future<Outcome> Backend::post(const Target& target, EncodedMessage message) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  auto future = promise->get_future();
  impl_->post(target, std::move(message), [promise](const Outcome& o) { promise->set_value(o); });
  return future;
}

void Backend::post(const Target& target, EncodedMessage message, Callback done) {
  impl_->post(target, std::move(message), std::move(done));
}

void Backend::shutdown(std::chrono::milliseconds grace) {
  impl_->shutdown(grace);
}

BackendStats Backend::stats() const {
  return impl_->stats();
}

}  // namespace stepline::host::amqp
