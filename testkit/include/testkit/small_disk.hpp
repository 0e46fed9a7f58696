// A small disk for tests of a data folder that fills up: a tmpfs of a few MiB mounted on a fresh
// folder, a file that takes the room left, and freeing it again. Mounting needs root
// (CAP_SYS_ADMIN): a test binary asks why_not() first and reports a machine that cannot as a
// skip, with the reason; as root a mount that fails is a failure.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace stepline::test {

class SmallDisk {
 public:
  /// Mounts a tmpfs of `bytes` on a fresh folder under the system temp folder. Throws
  /// std::runtime_error with the system's reason.
  explicit SmallDisk(std::size_t bytes);
  /// Unmounts (lazily, if a process still has files open there) and removes the folder.
  ~SmallDisk();
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// Writes the file `name` on the disk, up to `bytes` or until the disk is full; returns its
  /// size.
  std::size_t fill(const std::string& name, std::size_t bytes = static_cast<std::size_t>(-1));
  /// Removes the file `name`, freeing its room.
  void free(const std::string& name);
  /// Bytes the disk has left.
  std::size_t available() const;

  /// Why this process cannot mount one (it is not root), or empty when it can try.
  static std::string why_not();

 private:
  std::filesystem::path path_;
};

}  // namespace stepline::test
