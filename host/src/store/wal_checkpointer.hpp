// Keeps the database's write-ahead log short from a thread of its own while the async service
// runs. SQLite otherwise checkpoints inside whichever commit finds the log past its limit: the
// copy into the database and its two fsyncs would then land on an operation's commit (and hold
// the write lock meanwhile). A passive checkpoint on a separate connection takes no write lock,
// so operations and job bookkeeping go on while it copies and syncs. But under a steady stream
// of commits a passive checkpoint never catches up with the last frame, and SQLite starts the
// log over only when it has: so once the log is long, the checkpointer takes the file's write
// gate for a moment and finishes with a restarting checkpoint, which has only the frames of the
// last round left to copy.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include <stepline/host/store/job_store.hpp>

struct sqlite3;

namespace stepline::host::store {

class WriteGate;

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

  sqlite3* db_ = nullptr;
  std::shared_ptr<WriteGate> gate_;
  std::chrono::milliseconds every_;
  std::chrono::milliseconds idle_every_;
  int last_frames_ = 0;  ///< the log's length after the last round, in frames
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace stepline::host::store
