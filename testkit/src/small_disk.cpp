#include "testkit/small_disk.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace stepline::test {

SmallDisk::SmallDisk(std::size_t bytes) {
  std::string pattern = (std::filesystem::temp_directory_path() / "stepline-disk-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
  const std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
  if (::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::rmdir(path_.c_str());
    throw std::runtime_error("cannot mount a tmpfs of " + std::to_string(bytes) + " bytes on " +
                             path_.string() + ": " + reason);
  }
}

SmallDisk::~SmallDisk() {
  ::umount2(path_.c_str(), MNT_DETACH);
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::size_t SmallDisk::fill(const std::string& name, std::size_t bytes) {
  int fd = ::open((path_ / name).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + (path_ / name).string());
  const std::vector<char> block(64 * 1024, 0);
  std::size_t written = 0;
  while (written < bytes) {
    auto n = ::write(fd, block.data(), std::min(block.size(), bytes - written));
    if (n <= 0) break;  // ENOSPC: the disk is full
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return written;
}

void SmallDisk::free(const std::string& name) {
  std::filesystem::remove(path_ / name);
}

std::size_t SmallDisk::available() const {
  struct statvfs s {};
  if (::statvfs(path_.c_str(), &s) != 0) return 0;
  return static_cast<std::size_t>(s.f_bavail) * s.f_frsize;
}

std::string SmallDisk::why_not() {
  if (::geteuid() != 0)
    return "mounting a tmpfs needs root (CAP_SYS_ADMIN); run the tests as root, as CI does";
  return {};
}

}  // namespace stepline::test
