#include "wal_checkpointer.hpp"

#include <stepline/host/log.hpp>

#include "../store/sqlite.hpp"

namespace stepline::host::jobs {

WalCheckpointer::WalCheckpointer(const std::filesystem::path& database, Durability durability,
                                 std::chrono::milliseconds every)
    : db_(store::open_database(database, durability)), every_(every) {
  thread_ = std::thread([this] { run(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  thread_.join();
  checkpoint();
  sqlite3_close(db_);
}

void WalCheckpointer::run() {
  std::unique_lock lock(mutex_);
  while (!stop_.wait_for(lock, every_, [&] { return stopping_; })) {
    lock.unlock();
    checkpoint();
    lock.lock();
  }
}

void WalCheckpointer::checkpoint() {
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  // Busy only means another checkpoint is under way; the next round catches up.
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    log::debug("async service: WAL checkpoint failed: {}", sqlite3_errmsg(db_));
}

}  // namespace stepline::host::jobs
