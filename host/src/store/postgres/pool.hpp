// Connections to one PostgreSQL database, shared by the threads of one store: a thread takes one
// for a transaction (an operation, a batch of results) and gives it back; a connection that
// failed is dropped, and the next taker connects afresh, so a database that restarted is
// reached again without anyone noticing more than the failed statements.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "connection.hpp"

namespace stepline::host::store::pg {

class Pool {
 public:
  /// Opens no connection yet; at most `limit` at once, takers beyond wait for one to come back.
  Pool(std::string url, std::string store, std::string setting, registration::Durability durability,
       std::size_t limit);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// A connection taken from the pool, given back when it goes (dropped if it failed).
  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> connection)
        : pool_(&pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&& other) noexcept = default;
    ~Lease() {
      if (connection_) pool_->give_back(std::move(connection_));
    }
    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  /// An idle connection, or a new one. Throws Error when it cannot connect, or when none came
  /// back within `wait`.
  Lease take(std::chrono::milliseconds wait = std::chrono::seconds(30));
  /// A connection of its own, outside the pool (not in pipeline mode when `pipeline` is false).
  std::unique_ptr<Connection> connect(bool pipeline = true) const;
  /// Round trips of every connection so far, closed ones included.
  std::uint64_t round_trips() const;

  const std::string& store() const noexcept { return store_; }

 private:
  void give_back(std::unique_ptr<Connection> connection);

  const std::string url_;
  const std::string store_;
  const std::string setting_;
  const registration::Durability durability_;
  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;  ///< under mutex_
  std::size_t open_ = 0;                           ///< taken or idle, under mutex_
  std::uint64_t closed_round_trips_ = 0;           ///< under mutex_
};

}  // namespace stepline::host::store::pg
