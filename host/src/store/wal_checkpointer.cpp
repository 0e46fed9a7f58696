#include "wal_checkpointer.hpp"

#include <stepline/host/log.hpp>
#include <stepline/thread_name.hpp>

#include "sqlite.hpp"

namespace stepline::host::store {

WalCheckpointer::WalCheckpointer(const std::filesystem::path& database, Durability durability,
                                 std::chrono::milliseconds every,
                                 std::chrono::milliseconds idle_every)
    : db_(open_database(database, durability)),
      gate_(WriteGate::of(database)),
      every_(every),
      idle_every_(idle_every) {
  // The restarting checkpoint holds the write gate while it waits for readers: a long listing
  // must not hold up every writer of the process, so it gives up soon and tries next round.
  sqlite3_busy_timeout(db_, 100);
  thread_ = std::thread([this] {
    name_this_thread("sl-checkpoint");
    run();
  });
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
  auto wait = every_;
  while (!stop_.wait_for(lock, wait, [&] { return stopping_; })) {
    lock.unlock();
    wait = checkpoint() ? every_ : idle_every_;
    lock.lock();
  }
}

bool WalCheckpointer::checkpoint() {
  // A log this long (16 MiB of 4 KiB pages) is started over; well below wal_autocheckpoint, so
  // commits never get to checkpoint themselves.
  constexpr int restart_frames = 4096;
  int frames = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, nullptr);
  const bool grew = rc == SQLITE_OK && frames != last_frames_;
  last_frames_ = frames;
  if (rc == SQLITE_OK && frames >= restart_frames) {
    // The restart holds the gate, so every writer waits for it, and it ends by syncing the
    // database file. A passive checkpoint syncs that file only when it copied the whole log,
    // which it seldom does while operations commit, so that sync would flush every page copied
    // since the last restart: 5-7 ms at the gate, the open loop's p99. Synced here first, and
    // copied and synced once more to catch up with what was written meanwhile, the restart
    // copies and flushes only what comes in while it waits for the gate (1-1.5 ms).
    sync_database();
    if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
        SQLITE_OK)
      sync_database();
    if (gate_->enter(std::chrono::seconds(1))) {
      // No writer of this process can start meanwhile; readers finish within SQLite's busy wait.
      rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
      gate_->leave();
      if (rc == SQLITE_OK) last_frames_ = 0;  // the next writer starts the log over
    }
  }
  // Busy only means another checkpoint or a reader was in the way; the next round catches up.
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    log::debug("async service: WAL checkpoint failed: {}", sqlite3_errmsg(db_));
  return grew;
}

void WalCheckpointer::sync_database() {
  // What SQLite's own checkpoint does at its end (an fdatasync here), on the connection's file.
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK && file &&
      file->pMethods)
    file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);  // failing, the restart's sync says so
}

}  // namespace stepline::host::store
