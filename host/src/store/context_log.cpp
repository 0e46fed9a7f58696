#include "context_log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <system_error>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <stepline/host/store/record_store.hpp>

#include "one_per_file.hpp"

namespace stepline::host::store {

namespace {

constexpr std::uint32_t record_magic = 0x31434c53;  // "SLC1"
constexpr std::size_t record_header_size = 24;      // magic, size, the job's, the bytes' hash

struct Header {
  std::uint32_t magic = 0;
  std::uint32_t size = 0;
  std::uint64_t job = 0;
  std::uint64_t hash = 0;
};

void put_header(char* out, const Header& h) {
  std::memcpy(out, &h.magic, 4);
  std::memcpy(out + 4, &h.size, 4);
  std::memcpy(out + 8, &h.job, 8);
  std::memcpy(out + 16, &h.hash, 8);
}

Header get_header(const char* in) {
  Header h;
  std::memcpy(&h.magic, in, 4);
  std::memcpy(&h.size, in + 4, 4);
  std::memcpy(&h.job, in + 8, 8);
  std::memcpy(&h.hash, in + 16, 8);
  return h;
}

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

void sync_folder(const std::filesystem::path& folder) {
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

bool is_full(int error) {
  return error == ENOSPC || error == EDQUOT;
}

}  // namespace

std::shared_ptr<ContextLog> ContextLog::of(const std::filesystem::path& database) {
  return one_per_file<ContextLog>(database, [](const std::filesystem::path& file) {
    return std::make_shared<ContextLog>(file.string() + "-contexts");
  });
}

ContextLog::ContextLog(std::filesystem::path folder) : folder_(std::move(folder)) {}

ContextLog::~ContextLog() {
  for (int fd : retired_fds_) ::close(fd);
  if (writer_fd_ >= 0) ::close(writer_fd_);
  for (auto& [segment, fd] : readers_) ::close(fd);
}

std::filesystem::path ContextLog::file_of(std::uint32_t segment) const {
  char name[32];
  std::snprintf(name, sizeof name, "%08u.log", segment);
  return folder_ / name;
}

std::vector<std::uint32_t> ContextLog::segments() const {
  std::vector<std::uint32_t> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(folder_, ec), end; !ec && it != end;
       it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.size() != 12 || name.substr(8) != ".log") continue;
    if (name.find_first_not_of("0123456789") != 8) continue;
    out.push_back(static_cast<std::uint32_t>(std::stoul(name.substr(0, 8))));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::int64_t ContextLog::segment_size(std::uint32_t segment) const {
  std::error_code ec;
  auto size = std::filesystem::file_size(file_of(segment), ec);
  return ec ? 0 : static_cast<std::int64_t>(size);
}

void ContextLog::open_writer(std::uint32_t segment) {
  const auto file = file_of(segment);
  const bool existed = std::filesystem::exists(file);
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("context log: cannot open " + file.string() + ": " +
                             errno_text(errno) + " (check that the data folder is writable)");
  if (!existed) sync_folder(folder_);  // the new file's name must outlast a power loss too
  // Held shared for as long as this process may append to it: a checkpointer (of any process)
  // deletes only a segment it can hold exclusively.
  ::flock(fd, LOCK_SH);
  if (writer_fd_ >= 0) {
    if (unsynced_)
      retired_fds_.push_back(writer_fd_);  // sync() flushes and closes it
    else
      ::close(writer_fd_);
  }
  writer_fd_ = fd;
  segment_ = segment;
}

void ContextLog::begin() noexcept {
  std::lock_guard lock(mutex_);
  staged_.clear();
  positioned_ = false;
}

void ContextLog::position() {
  if (segment_ == 0 || std::filesystem::exists(file_of(segment_ + 1))) {
    // The first write of this process, or another process started a newer segment.
    std::error_code ec;
    std::filesystem::create_directories(folder_, ec);
    if (ec)
      throw std::runtime_error("context log: cannot create " + folder_.string() + ": " +
                               ec.message() + " (check that the data folder is writable)");
    auto present = segments();
    open_writer(present.empty() ? 1 : std::max(present.back(), segment_));
  }
  auto size_now = [&] {
    struct stat st {};
    if (::fstat(writer_fd_, &st) != 0)
      throw std::runtime_error("context log: " + file_of(segment_).string() + ": " +
                               errno_text(errno));
    return static_cast<std::int64_t>(st.st_size);
  };
  end_ = size_now();
  if (end_ >= segment_limit) {
    // After the newest there is: a number is never used twice, even when the segment that had
    // it is gone (a reader of another process may still hold that file open).
    const auto present = segments();
    open_writer(std::max(present.empty() ? 0 : present.back(), segment_) + 1);
    end_ = size_now();
  }
  positioned_ = true;
}

ContextPlace ContextLog::stage(std::string_view job_id, std::string_view context) {
  std::lock_guard lock(mutex_);
  if (!positioned_) position();
  const auto offset = end_ + static_cast<std::int64_t>(staged_.size());
  Header h{record_magic, static_cast<std::uint32_t>(context.size()),
           XXH3_64bits(job_id.data(), job_id.size()), XXH3_64bits(context.data(), context.size())};
  const auto at = staged_.size();
  staged_.resize(at + record_header_size + context.size());
  put_header(staged_.data() + at, h);
  std::memcpy(staged_.data() + at + record_header_size, context.data(), context.size());
  return {at_of(segment_, offset), static_cast<std::int64_t>(context.size())};
}

void ContextLog::write_staged(bool sync) {
  std::lock_guard lock(mutex_);
  if (staged_.empty()) return;
  // Emptied whatever happens, keeping its room for the next transaction's records unless an
  // unusually large one made it big.
  struct Clear {
    std::string& staged;
    ~Clear() {
      if (staged.capacity() > (std::size_t{4} << 20))
        std::string().swap(staged);
      else
        staged.clear();
    }
  } clear{staged_};
  const std::string& staged = staged_;
  std::size_t done = 0;
  int error = 0;
  while (done < staged.size()) {
    auto n = ::pwrite(writer_fd_, staged.data() + done, staged.size() - done,
                      static_cast<off_t>(end_ + static_cast<std::int64_t>(done)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (!error && sync && ::fdatasync(writer_fd_) != 0) error = errno;
  const auto file = file_of(segment_);
  if (error) {
    // Nothing will refer to what was written: the transaction rolls back, and the next one
    // appends after it. It is not cut off: the room it took would go to the database's next
    // write, and a disk that is full must stay full for every writer until space is freed.
    if (is_full(error))
      throw StorageFull("the disk holding " + file.string() + " is full: free space in " +
                        folder_.parent_path().string() +
                        "; nothing of this write was applied, and the store works again once "
                        "there is room");
    throw std::runtime_error("context log: cannot write " + file.string() + ": " +
                             errno_text(error));
  }
  end_ += static_cast<std::int64_t>(staged.size());
  unsynced_ = !sync;  // a sync covers every earlier write of the file too
}

void ContextLog::drop_staged() noexcept {
  std::lock_guard lock(mutex_);
  staged_.clear();
}

int ContextLog::reader_fd(std::uint32_t segment) {
  auto found = readers_.find(segment);
  if (found != readers_.end()) return found->second;
  int fd = ::open(file_of(segment).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) readers_.emplace(segment, fd);
  return fd;
}

std::string ContextLog::read_record(std::uint32_t segment, std::int64_t offset, std::size_t total,
                                    std::string& record) {
  int fd = reader_fd(segment);
  if (fd < 0) return "the file is missing (" + errno_text(errno) + ")";
  // Checked before anything is allocated: a damaged row's size must not cost its memory.
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_text(errno);
  if (static_cast<std::uint64_t>(st.st_size) < static_cast<std::uint64_t>(offset) + total)
    return "the file ends before the record does";
  record.assign(total, '\0');
  std::size_t done = 0;
  while (done < total) {
    auto n = ::pread(fd, record.data() + done, total - done,
                     static_cast<off_t>(offset + static_cast<std::int64_t>(done)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done < total ? "the file ends before the record does" : "";
}

std::string ContextLog::check(const std::string& record, std::string_view job_id,
                              std::int64_t size) {
  Header h = get_header(record.data());
  if (h.magic != record_magic) return "no record starts there";
  if (h.job != XXH3_64bits(job_id.data(), job_id.size()))
    return "the record there is another job's";
  if (h.size != static_cast<std::uint32_t>(size))
    return "the record there holds " + std::to_string(h.size) + " bytes, not " +
           std::to_string(size);
  if (h.hash != XXH3_64bits(record.data() + record_header_size, h.size))
    return "its bytes do not match their hash (damaged)";
  return "";
}

std::string ContextLog::read(std::string_view job_id, ContextPlace place) {
  const auto segment = segment_of(place.at);
  const auto offset = place.at & 0xffffffffLL;
  const auto file = file_of(segment);
  if (place.at < 0 || place.size < 0 || place.size > std::numeric_limits<std::uint32_t>::max())
    throw std::runtime_error("the frozen context of system job " + std::string(job_id) +
                             " cannot be read: its row gives an impossible place (" +
                             std::to_string(place.at) + ", " + std::to_string(place.size) +
                             " bytes); restore the data folder from a backup, or cancel the job");
  const auto total = record_header_size + static_cast<std::size_t>(place.size);
  std::string record;
  std::string problem;
  {
    std::lock_guard lock(mutex_);
    if (segment == segment_ && offset >= end_ &&
        offset - end_ + static_cast<std::int64_t>(total) <=
            static_cast<std::int64_t>(staged_.size())) {
      record.assign(staged_, static_cast<std::size_t>(offset - end_), total);
      problem = check(record, job_id, place.size);
    } else {
      auto attempt = [&] {
        auto wrong = read_record(segment, offset, total, record);
        return wrong.empty() ? check(record, job_id, place.size) : wrong;
      };
      // A file this process opened earlier may have been deleted since (and a newer one written
      // under another number): one that fails is read once more from a fresh open.
      const bool was_open = readers_.count(segment) > 0;
      problem = attempt();
      if (!problem.empty() && was_open) {
        ::close(readers_[segment]);
        readers_.erase(segment);
        problem = attempt();
      }
    }
  }
  if (!problem.empty())
    throw std::runtime_error("the frozen context of system job " + std::string(job_id) + " (" +
                             file.string() + ", byte " + std::to_string(offset) +
                             ") cannot be read: " + problem +
                             "; restore the data folder from a backup, or cancel the job");
  record.erase(0, record_header_size);
  return record;
}

void ContextLog::sync() {
  std::vector<int> retired;
  int fd = -1;
  {
    std::lock_guard lock(mutex_);
    retired.swap(retired_fds_);
    if (unsynced_ && writer_fd_ >= 0) {
      fd = ::dup(writer_fd_);
      unsynced_ = false;
    }
  }
  // Outside the lock: the writer goes on staging and writing meanwhile.
  for (int r : retired) {
    ::fdatasync(r);
    ::close(r);
  }
  if (fd >= 0) {
    ::fdatasync(fd);
    ::close(fd);
  }
}

bool ContextLog::remove(std::uint32_t segment) {
  std::lock_guard lock(mutex_);
  if (segment == segment_) return false;
  const auto file = file_of(segment);
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;
  // A writer of any process holds its segment shared while it may append to it.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  if (auto found = readers_.find(segment); found != readers_.end()) {
    ::close(found->second);
    readers_.erase(found);
  }
  const bool removed = ::unlink(file.c_str()) == 0 || errno == ENOENT;
  ::close(fd);
  return removed;
}

}  // namespace stepline::host::store
