#include "pool.hpp"

namespace stepline::host::store::pg {

Pool::Pool(std::string url, std::string store, std::string setting,
           registration::Durability durability, std::size_t limit)
    : url_(std::move(url)),
      store_(std::move(store)),
      setting_(std::move(setting)),
      durability_(durability),
      limit_(std::max<std::size_t>(1, limit)) {}

Pool::~Pool() = default;

std::unique_ptr<Connection> Pool::connect(bool pipeline) const {
  return std::make_unique<Connection>(url_, store_, setting_, durability_, pipeline);
}

Pool::Lease Pool::take(std::chrono::milliseconds wait) {
  {
    std::unique_lock lock(mutex_);
    if (!returned_.wait_for(lock, wait, [&] { return !idle_.empty() || open_ < limit_; }))
      throw Error(store_ + ": all " + std::to_string(limit_) + " connections stayed in use for " +
                      std::to_string(wait.count() / 1000) + " s; try again",
                  "", false);
    while (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      if (connection->still_open()) return Lease(*this, std::move(connection));
      // The server ended it while it was idle (it restarted): a new one takes its place.
      closed_round_trips_ += connection->round_trips();
      --open_;
    }
    ++open_;
  }
  try {
    return Lease(*this, connect());
  } catch (...) {
    std::lock_guard lock(mutex_);
    --open_;
    returned_.notify_one();
    throw;
  }
}

void Pool::give_back(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  // A connection with statements still queued (its taker gave up half way) or that failed is
  // not reused.
  if (connection->usable() && connection->queued() == 0) {
    idle_.push_back(std::move(connection));
  } else {
    closed_round_trips_ += connection->round_trips();
    --open_;
  }
  returned_.notify_one();
}

std::uint64_t Pool::round_trips() const {
  std::lock_guard lock(mutex_);
  std::uint64_t n = closed_round_trips_;
  for (const auto& c : idle_) n += c->round_trips();
  return n;
}

}  // namespace stepline::host::store::pg
