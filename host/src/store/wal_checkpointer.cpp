#include "wal_checkpointer.hpp"

#include <stepline/host/log.hpp>
#include <stepline/thread_name.hpp>

#include <algorithm>

#include "context_log.hpp"
#include "sqlite.hpp"

namespace stepline::host::store {

WalCheckpointer::WalCheckpointer(const std::filesystem::path& database, Durability durability,
                                 std::chrono::milliseconds every,
                                 std::chrono::milliseconds idle_every)
    : db_(open_database(database, durability)),
      gate_(WriteGate::of(database)),
      every_(every),
      idle_every_(idle_every),
      contexts_(ContextLog::of(database)) {
  // Its only writes are the moves of contexts out of a segment about to be deleted: each must
  // be on the disk before the segment goes.
  exec(db_, "PRAGMA synchronous=FULL");
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
  // The contexts first: the rows about to be copied into the database refer to them.
  contexts_->sync();
  if (const auto now = std::chrono::steady_clock::now(); now >= next_retire_) {
    next_retire_ = now + std::chrono::seconds(1);
    retire_segments();
  }
  int frames = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, nullptr);
  const bool grew = rc == SQLITE_OK && frames != last_frames_;
  last_frames_ = frames;
  const auto now = std::chrono::steady_clock::now();
  if (rc == SQLITE_OK && frames >= restart_frames && now >= restart_after_) {
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
    bool restarted = false;
    if (gate_->enter(std::chrono::seconds(1))) {
      // No writer of this process can start meanwhile; readers finish within SQLite's busy wait.
      rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
      gate_->leave();
      restarted = rc == SQLITE_OK;
      if (restarted) last_frames_ = 0;  // the next writer starts the log over
    }
    // A reader that outlasts the busy wait (a long listing, a backup) would otherwise make every
    // round hold the gate, and every writer, for that wait: the next try waits a while, longer
    // each time, and the passive rounds go on meanwhile.
    using std::chrono::milliseconds;
    restart_backoff_ =
        restarted ? milliseconds(0)
                  : std::min(milliseconds(5000), std::max(milliseconds(250), restart_backoff_ * 2));
    restart_after_ = now + restart_backoff_;
  }
  // Busy only means another checkpoint or a reader was in the way; the next round catches up.
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    log::debug("async service: WAL checkpoint failed: {}", sqlite3_errmsg(db_));
  return grew;
}

void WalCheckpointer::retire_segments() {
  const auto present = contexts_->segments();
  std::vector<std::uint32_t> unreferenced;
  bool emptied = false;
  for (std::size_t i = 0; i + 1 < present.size(); ++i) {
    const auto segment = present[i];
    long long jobs = 0, bytes = 0;
    try {
      Statement count(db_,
                      "SELECT count(*), coalesce(sum(context_size), 0) FROM system_jobs WHERE "
                      "context_at >= ?1 AND context_at < ?2");
      count.start();
      count.bind(1, static_cast<long long>(ContextLog::at_of(segment, 0)))
          .bind(2, static_cast<long long>(ContextLog::at_of(segment + 1, 0)));
      count.step();
      jobs = count.integer(0);
      bytes = count.integer(1);
      count.done();
    } catch (const std::exception& e) {
      log::debug("async service: context log: {}", e.what());
      return;
    }
    if (jobs == 0) {
      const bool seen_before =
          std::find(unreferenced_.begin(), unreferenced_.end(), segment) != unreferenced_.end();
      if (!seen_before || !contexts_->remove(segment)) unreferenced.push_back(segment);
    } else if (!emptied && bytes * 4 <= contexts_->segment_size(segment)) {
      // One a round: the checkpoints wait meanwhile.
      emptied = true;
      if (empty_segment(segment)) unreferenced.push_back(segment);
    }
  }
  unreferenced_ = std::move(unreferenced);
}

bool WalCheckpointer::empty_segment(std::uint32_t segment) {
  const auto lo = static_cast<long long>(ContextLog::at_of(segment, 0));
  const auto hi = static_cast<long long>(ContextLog::at_of(segment + 1, 0));
  for (;;) {
    // A few hundred contexts (under a megabyte) at a time: the gate holds up every operation.
    if (!gate_->enter(std::chrono::milliseconds(100))) return false;
    try {
      exec(db_, "BEGIN IMMEDIATE");
      Statement bound(db_,
                      "SELECT max(context_at), count(*) FROM (SELECT context_at FROM system_jobs "
                      "WHERE context_at >= ?1 AND context_at < ?2 ORDER BY context_at LIMIT 256)");
      bound.start();
      bound.bind(1, lo).bind(2, hi);
      bound.step();
      const auto last = bound.is_null(0) ? 0 : bound.integer(0);
      const auto moved = bound.integer(1);
      bound.done();
      if (moved > 0) {
        Statement copy(db_,
                       "INSERT OR REPLACE INTO system_job_contexts (sequence, context) SELECT "
                       "sequence, stepline_context(id, context_at, context_size) FROM "
                       "system_jobs WHERE context_at >= ?1 AND context_at <= ?2");
        copy.start();
        copy.bind(1, lo).bind(2, last);
        copy.step();
        copy.done();
        Statement forget(db_,
                         "UPDATE system_jobs SET context_at = NULL, context_size = NULL WHERE "
                         "context_at >= ?1 AND context_at <= ?2");
        forget.start();
        forget.bind(1, lo).bind(2, last);
        forget.step();
        forget.done();
      }
      exec(db_, "COMMIT");
      gate_->leave();
      if (moved < 256) return true;
    } catch (const std::exception& e) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      gate_->leave();
      log::debug("async service: context log: {}", e.what());
      return false;
    }
  }
}

void WalCheckpointer::sync_database() {
  // What SQLite's own checkpoint does at its end (an fdatasync here), on the connection's file.
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK && file &&
      file->pMethods)
    file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);  // failing, the restart's sync says so
}

}  // namespace stepline::host::store
