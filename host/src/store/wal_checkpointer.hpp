// Keeps the database's write-ahead log short from a thread of its own while the async service
// runs. SQLite otherwise checkpoints inside whichever commit finds the log past its limit: the
// copy into the database and its two fsyncs would then land on an operation's commit (and hold
// the write lock meanwhile). A passive checkpoint on a separate connection takes no write lock,
// so operations and job bookkeeping go on while it copies and syncs. But under a steady stream
// of commits a passive checkpoint never catches up with the last frame, and SQLite starts the
// log over only when it has: so once the log is long, the checkpointer takes the file's write
// gate for a moment and finishes with a restarting checkpoint, which has only the frames of the
// last round left to copy.
//
// It also keeps the context log (context_log.hpp) in step: it syncs the log's new records to
// the disk before each checkpoint, so the database file never holds a row whose context did not
// reach the disk, and every second it retires old segments (retire_segments()).
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <stepline/host/store/job_store.hpp>

struct sqlite3;

namespace stepline::host::store {

class WriteGate;
class ContextLog;

/// The SQLite job store's companion of a running service (JobStore::accompany).
class WalCheckpointer final : public JobStore::Companion {
 public:
  /// Opens its own connection to `database` and starts checkpointing every `every` while the
  /// log grows, and every `idle_every` while it does not.
  WalCheckpointer(const std::filesystem::path& database, Durability durability,
                  std::chrono::milliseconds every, std::chrono::milliseconds idle_every);
  /// Runs a last checkpoint and closes the connection.
  ~WalCheckpointer() override;
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

 private:
  void run();
  /// One round; true when the log had grown since the last one.
  bool checkpoint();
  /// Flushes the database file to the disk, as the end of a checkpoint does.
  void sync_database();
  /// Deletes the context log's segments that no job refers to any more (seen so in two rounds:
  /// a reader may still be on its way to one), and empties into system_job_contexts those
  /// whose jobs refer to a quarter of them or less. Never the newest segment.
  void retire_segments();
  /// Moves the contexts of the jobs that refer to `segment` into system_job_contexts, a few
  /// hundred in each transaction; false when the write gate or the database was busy.
  bool empty_segment(std::uint32_t segment);

  sqlite3* db_ = nullptr;
  std::shared_ptr<WriteGate> gate_;
  std::chrono::milliseconds every_;
  std::chrono::milliseconds idle_every_;
  int last_frames_ = 0;  ///< the log's length after the last round, in frames
  /// No restart before this: the last one found a reader in the way (see checkpoint()).
  std::chrono::steady_clock::time_point restart_after_{};
  std::chrono::milliseconds restart_backoff_{0};
  std::shared_ptr<ContextLog> contexts_;
  std::chrono::steady_clock::time_point next_retire_{};
  std::vector<std::uint32_t> unreferenced_;  ///< segments no job referred to at the last look
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace stepline::host::store
