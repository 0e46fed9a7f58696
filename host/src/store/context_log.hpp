// The frozen contexts of new system jobs, appended to files beside the SQLite database instead
// of written into it (docs/JOBS.md "The context log"). A 2-3 KiB context fills a page of the
// database by itself, so in the database it was written three times (the page into the log, the
// log into the file at a checkpoint) and was most of what a durable operation wrote; here it is
// written once, by one pwrite per commit group. The job's row keeps where it went (a segment
// and an offset, one integer `context_at`) and its size, and every query that selects a
// job's context reads it back through the SQL function stepline_context() that open_database
// registers, so readers do not change.
//
// Segments are the files <database>-contexts/NNNNNNNN.log, each up to segment_limit bytes (a
// group's records never straddle two). Records are appended only inside the database's write
// transaction (a commit group's, or a standalone write's), so the writers of every process that
// shares the database take turns at SQLite's lock, and each finds the end of the newest segment
// anew at its transaction's start. A record is a header (magic, size, a hash of the job's id, an
// XXH3 hash of the bytes) and the context; a read checks all four, so a record cut short or
// overwritten is an error naming the file and the job, never a wrong context.
//
// A writer holds its segment's file shared (flock) for as long as it may append to it, and a
// segment is deleted only by whoever holds it exclusively: so a process that has not written
// since another one started newer segments never appends to a file that is gone.
//
// The async service's checkpointer (wal_checkpointer.cpp) syncs the segments before each
// checkpoint, so the database never reaches the disk ahead of the contexts it refers to, and
// retires old segments: one that no job refers to any more is deleted; one whose jobs still
// refer to a quarter of it or less has those contexts copied into the table
// system_job_contexts (where a context written before this log lives too) and is deleted later.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace stepline::host::store {

/// Where a context is: `at` = segment << 32 | the record's offset in it; `size` = the context's
/// bytes.
struct ContextPlace {
  std::int64_t at = 0;
  std::int64_t size = 0;
};

class ContextLog {
 public:
  /// A segment is started over once it holds this many bytes.
  static constexpr std::int64_t segment_limit = std::int64_t{64} << 20;

  /// The log of `database` (the folder `<database>-contexts`), one per database per process,
  /// shared by every connection to it. Creates nothing until the first write.
  static std::shared_ptr<ContextLog> of(const std::filesystem::path& database);
  explicit ContextLog(std::filesystem::path folder);
  ~ContextLog();
  ContextLog(const ContextLog&) = delete;
  ContextLog& operator=(const ContextLog&) = delete;

  // The writer, inside the database's write transaction.

  /// At the start of a write transaction: forgets where the log ended, which the transaction's
  /// first stage() finds anew (another process may have appended).
  void begin() noexcept;
  /// Copies a record of `context` for the job `job_id` (its id's text) into the bytes staged for
  /// the transaction; says where it will be. The transaction's first finds the newest segment's
  /// end, starting the next segment when it is full, and throws (naming the file) when the
  /// folder or the segment cannot be made.
  ContextPlace stage(std::string_view job_id, std::string_view context);
  /// Before the transaction commits: writes the staged records (one write), syncing them to the
  /// disk when `sync`. Throws StorageFull for a full disk, std::runtime_error otherwise, naming
  /// the file; the staged records are dropped either way.
  void write_staged(bool sync);
  /// After a rollback: drops the staged records.
  void drop_staged() noexcept;

  // Any thread.

  /// The context of the job `job_id` at `place` (from the staged records when it is one of
  /// them). Throws std::runtime_error naming the file, the offset and the job when the record
  /// is missing or damaged.
  std::string read(std::string_view job_id, ContextPlace place);
  /// Flushes the segments written since the last call to the disk.
  void sync();
  /// The segments present, in order.
  std::vector<std::uint32_t> segments() const;
  /// Bytes in `segment` (0 when it is gone).
  std::int64_t segment_size(std::uint32_t segment) const;
  /// Deletes a segment no job refers to any more; false when a writer (of any process) may
  /// still append to it (it holds the file shared), or it could not be deleted.
  bool remove(std::uint32_t segment);
  const std::filesystem::path& folder() const noexcept { return folder_; }
  std::filesystem::path file_of(std::uint32_t segment) const;

  static constexpr std::int64_t at_of(std::uint32_t segment, std::int64_t offset) {
    return (static_cast<std::int64_t>(segment) << 32) | offset;
  }
  static constexpr std::uint32_t segment_of(std::int64_t at) {
    return static_cast<std::uint32_t>(at >> 32);
  }

 private:
  void position();  // under mutex_
  /// Reads `total` bytes at `offset` of `segment` into `record`; what went wrong, or "".
  std::string read_record(std::uint32_t segment, std::int64_t offset, std::size_t total,
                          std::string& record);
  /// What is wrong with `record` (a header and `size` bytes) as the context of `job_id`, or "".
  static std::string check(const std::string& record, std::string_view job_id, std::int64_t size);
  int reader_fd(std::uint32_t segment);     // under mutex_
  void open_writer(std::uint32_t segment);  // under mutex_

  std::filesystem::path folder_;
  mutable std::mutex mutex_;
  std::uint32_t segment_ = 0;  ///< the segment written to; 0 = none yet
  int writer_fd_ = -1;
  std::int64_t end_ = 0;     ///< where the staged records go in segment_
  bool positioned_ = false;  ///< end_ was found in this transaction
  std::string staged_;
  bool unsynced_ = false;         ///< written since the last sync()
  std::vector<int> retired_fds_;  ///< earlier segments' writer fds, synced and closed by sync()
  std::map<std::uint32_t, int> readers_;
};

}  // namespace stepline::host::store
