// Watches the files a registration was read from and the plug-in folder with inotify, and calls
// back once a burst of changes has settled: an editor's save (often a new file renamed over the
// old one) or a library still being copied in produces many events, and one reload of the
// complete files should follow. Folders are watched rather than files, because a file replaced
// by a rename is a new inode that a watch on the old one would never see.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace stepline::host::service {

class FileWatch {
 public:
  /// `changed` runs on the watch's thread with the name of the first file that changed, after
  /// `quiet` has passed without another event on a watched file. Throws std::runtime_error when
  /// inotify is not available (naming the limit to raise when it is exhausted).
  FileWatch(std::chrono::milliseconds quiet, std::function<void(const std::string&)> changed);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  /// What to watch from now on: these files, and every `*.so` in `plugin_folder` (none when
  /// empty). A folder that cannot be watched (it does not exist) is logged and skipped.
  void watch(const std::vector<std::filesystem::path>& files,
             const std::filesystem::path& plugin_folder);

 private:
  struct Folder {
    std::set<std::string> names;  ///< files of interest in it
    bool libraries = false;       ///< every *.so in it
  };
  void run();
  void arm();
  bool relevant(int wd, const std::string& name) const;

  std::chrono::milliseconds quiet_;
  std::function<void(const std::string&)> changed_;
  int inotify_ = -1;
  int wake_ = -1;  ///< eventfd: stop, or new folders to watch
  std::mutex mutex_;
  std::map<std::filesystem::path, Folder> wanted_;
  bool rearm_ = false;
  bool stop_ = false;
  std::map<int, std::filesystem::path> watched_;  ///< by watch descriptor (the thread's own)
  std::map<std::filesystem::path, Folder> armed_;
  std::thread thread_;
};

}  // namespace stepline::host::service
