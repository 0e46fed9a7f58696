#include "attempt_journal.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace stepline::host::jobs {
namespace {

constexpr std::size_t slot_bytes = 16;
// Separates a journal's owner from the service that claimed it; no host name or lease owner
// contains it.
constexpr char claim_mark = '+';

std::string system_error(const std::string& what, const std::filesystem::path& file) {
  return "attempt journal " + file.string() + ": " + what + ": " + std::strerror(errno);
}

std::vector<Guid> jobs_in(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Guid> jobs;
  for (std::size_t at = 0; at + slot_bytes <= bytes.size(); at += slot_bytes) {
    std::array<std::uint8_t, 16> id{};
    std::memcpy(id.data(), bytes.data() + at, slot_bytes);
    Guid job(id);
    if (!job.is_nil()) jobs.push_back(job);
  }
  return jobs;
}

}  // namespace

AttemptJournal::AttemptJournal(const std::filesystem::path& folder, std::string_view owner,
                               std::size_t slots)
    : file_(folder / std::string(owner)), slots_(slots) {
  std::filesystem::create_directories(folder);
  const long page = ::sysconf(_SC_PAGESIZE);
  length_ = (slots_ * slot_bytes + page - 1) / page * page;
  if (length_ == 0) length_ = static_cast<std::size_t>(page);
  int fd = ::open(file_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(system_error("cannot create it", file_));
  // Blocks allocated now: a store into a page the disk has no room for would be SIGBUS.
  if (int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(length_)); rc != 0) {
    ::close(fd);
    ::unlink(file_.c_str());
    errno = rc;
    throw std::runtime_error(system_error("cannot allocate it", file_));
  }
  void* map = ::mmap(nullptr, length_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    ::unlink(file_.c_str());
    throw std::runtime_error(system_error("cannot map it", file_));
  }
  words_ = static_cast<std::uint64_t*>(map);
}

AttemptJournal::~AttemptJournal() {
  ::munmap(words_, length_);
}

void AttemptJournal::begin(std::size_t slot, const Guid& job) noexcept {
  if (slot >= slots_) return;
  std::uint64_t half[2];
  std::memcpy(half, job.bytes().data(), sizeof half);
  // Atomic stores, so that they are made before the job runs, whatever the compiler sees of it.
  std::atomic_ref<std::uint64_t>(words_[2 * slot]).store(half[0], std::memory_order_release);
  std::atomic_ref<std::uint64_t>(words_[2 * slot + 1]).store(half[1], std::memory_order_release);
}

void AttemptJournal::end(std::size_t slot) noexcept {
  if (slot >= slots_) return;
  std::atomic_ref<std::uint64_t>(words_[2 * slot]).store(0, std::memory_order_release);
  std::atomic_ref<std::uint64_t>(words_[2 * slot + 1]).store(0, std::memory_order_release);
}

void AttemptJournal::close() noexcept {
  ::unlink(file_.c_str());
}

std::vector<AttemptJournal::Left> AttemptJournal::claim_left(
    const std::filesystem::path& folder, std::string_view claimer,
    const std::function<bool(std::string_view)>& owner_gone) {
  std::vector<Left> left;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    const auto mark = name.find(claim_mark);
    const std::string owner = name.substr(0, mark);
    if (owner == claimer) continue;
    std::filesystem::path claimed = entry.path();
    if (mark == std::string::npos) {
      if (!owner_gone(owner)) continue;
    } else {
      const std::string earlier = name.substr(mark + 1);
      if (earlier != claimer && !owner_gone(earlier)) continue;  // being counted by another
    }
    const auto mine = folder / (owner + claim_mark + std::string(claimer));
    if (claimed != mine) {
      // Only one of the services that race for a journal can rename it.
      if (::rename(claimed.c_str(), mine.c_str()) != 0) continue;
      claimed = mine;
    }
    left.push_back({owner, jobs_in(claimed), claimed});
  }
  return left;
}

}  // namespace stepline::host::jobs
