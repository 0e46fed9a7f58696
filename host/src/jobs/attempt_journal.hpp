// Which job each worker thread of an async service is running in the host process, kept where a
// crash of the process cannot lose it and at no cost to the job's durable path: a small file
// mapped into memory, one slot per thread. A store into the mapping is a store into the kernel's
// page of the file, so it outlives a SIGSEGV or SIGKILL of the process (not a power loss, which
// is not the job's doing anyway) without a system call or a commit. The next service to start on
// the database finds the journal of the dead process and counts the jobs named there as attempts
// that never returned (docs/JOBS.md "A plug-in that takes the host down").
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/guid.hpp>

namespace stepline::host::jobs {

class AttemptJournal {
 public:
  /// Creates the journal of the service `owner` with `slots` slots in `folder` (created when
  /// absent), its blocks allocated up front so that writing a slot never needs disk space.
  /// Throws std::runtime_error naming the file when it cannot.
  AttemptJournal(const std::filesystem::path& folder, std::string_view owner, std::size_t slots);
  /// Unmaps the journal (the file is gone already if close() was called).
  ~AttemptJournal();
  AttemptJournal(const AttemptJournal&) = delete;
  AttemptJournal& operator=(const AttemptJournal&) = delete;

  /// The thread of `slot` is about to run `job`.
  void begin(std::size_t slot, const Guid& job) noexcept;
  /// The thread of `slot` has come back from its job.
  void end(std::size_t slot) noexcept;
  std::size_t slots() const noexcept { return slots_; }
  /// Removes the file: the service stopped cleanly. The mapping stays valid for threads that
  /// still hold the journal.
  void close() noexcept;

  /// A journal left by a process that is gone, claimed by one service.
  struct Left {
    std::string owner;              ///< the dead service's lease owner
    std::vector<Guid> jobs;         ///< the jobs its threads were running
    std::filesystem::path claimed;  ///< the claimed file; remove it once the jobs are counted
  };
  /// Claims every journal in `folder` whose owner `owner_gone` says is dead (renaming it, so
  /// that two services starting at once do not both count it), and the ones an earlier claim by
  /// `claimer` (or by a claimer that is gone too) left behind. Unreadable files are skipped.
  static std::vector<Left> claim_left(const std::filesystem::path& folder, std::string_view claimer,
                                      const std::function<bool(std::string_view)>& owner_gone);

 private:
  std::filesystem::path file_;
  std::size_t slots_;
  std::size_t length_ = 0;
  std::uint64_t* words_ = nullptr;  ///< two per slot: the job id's bytes
};

}  // namespace stepline::host::jobs
