#include "file_watch.hpp"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include <stepline/host/log.hpp>
#include <stepline/thread_name.hpp>

namespace stepline::host::service {
namespace fs = std::filesystem;
namespace {

// Everything that can make a watched file new or different. IN_MODIFY alone never means the
// file is complete, but it restarts the quiet period, so a copy in progress is waited for.
constexpr std::uint32_t events = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                 IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
                                 IN_ONLYDIR;

bool ends_with(const std::string& text, std::string_view tail) {
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

fs::path folder_of(const fs::path& file) {
  auto absolute = fs::absolute(file).lexically_normal();
  return absolute.parent_path();
}

}  // namespace

FileWatch::FileWatch(std::chrono::milliseconds quiet,
                     std::function<void(const std::string&)> changed)
    : quiet_(quiet), changed_(std::move(changed)) {
  inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_ < 0)
    throw std::runtime_error(
        std::string("cannot watch the registration for changes: inotify_init1: ") +
        ::strerror(errno) +
        (errno == EMFILE ? " (raise fs.inotify.max_user_instances, or serve with --no-watch)"
                         : ""));
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_ < 0) {
    ::close(inotify_);
    throw std::runtime_error(std::string("eventfd: ") + ::strerror(errno));
  }
  thread_ = std::thread([this] {
    name_this_thread("sl-file-watch");
    run();
  });
}

FileWatch::~FileWatch() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
  thread_.join();
  ::close(wake_);
  ::close(inotify_);
}

void FileWatch::watch(const std::vector<fs::path>& files, const fs::path& plugin_folder) {
  std::map<fs::path, Folder> wanted;
  for (const auto& file : files)
    wanted[folder_of(file)].names.insert(fs::path(file).filename().string());
  if (!plugin_folder.empty())
    wanted[fs::absolute(plugin_folder).lexically_normal()].libraries = true;
  {
    std::lock_guard lock(mutex_);
    wanted_ = std::move(wanted);
    rearm_ = true;
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
}

// On the watch's thread: adds watches for new folders, drops those no longer wanted.
void FileWatch::arm() {
  std::map<fs::path, Folder> wanted;
  {
    std::lock_guard lock(mutex_);
    wanted = wanted_;
    rearm_ = false;
  }
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (!wanted.count(it->second)) {
      ::inotify_rm_watch(inotify_, it->first);
      it = watched_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [folder, what] : wanted) {
    int wd = ::inotify_add_watch(inotify_, folder.c_str(), events);
    if (wd < 0) {
      log::warn("cannot watch {} for changes ({}); reload with SIGHUP or stepline reload",
                folder.string(),
                errno == ENOSPC ? "inotify watches exhausted: raise fs.inotify.max_user_watches"
                                : ::strerror(errno));
      continue;
    }
    watched_[wd] = folder;
  }
  armed_ = std::move(wanted);
}

bool FileWatch::relevant(int wd, const std::string& name) const {
  auto folder = watched_.find(wd);
  if (folder == watched_.end()) return false;
  auto what = armed_.find(folder->second);
  if (what == armed_.end()) return false;
  if (name.empty()) return true;  // the folder itself was removed or moved
  if (what->second.names.count(name)) return true;
  return what->second.libraries && ends_with(name, ".so");
}

void FileWatch::run() {
  using clock = std::chrono::steady_clock;
  bool pending = false;     // changes seen, not yet reloaded
  clock::time_point due{};  // when they have settled
  std::string first;
  alignas(inotify_event) char buffer[16 * 1024];
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stop_) return;
    }
    int timeout = -1;
    if (pending) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - clock::now());
      timeout = int(std::max<std::int64_t>(left.count(), 0));
    }
    pollfd fds[2] = {{inotify_, POLLIN, 0}, {wake_, POLLIN, 0}};
    int ready = ::poll(fds, 2, timeout);
    if (ready < 0 && errno != EINTR) {
      log::error("the registration watch stopped: poll: {}", ::strerror(errno));
      return;
    }
    if (fds[1].revents & POLLIN) {
      std::uint64_t count;
      [[maybe_unused]] auto n = ::read(wake_, &count, sizeof count);
      bool again;
      {
        std::lock_guard lock(mutex_);
        if (stop_) return;
        again = rearm_;
      }
      if (again) arm();
    }
    if (fds[0].revents & POLLIN) {
      for (;;) {
        auto n = ::read(inotify_, buffer, sizeof buffer);
        if (n <= 0) break;
        for (char* p = buffer; p < buffer + n;) {
          auto* event = reinterpret_cast<inotify_event*>(p);
          p += sizeof(inotify_event) + event->len;
          std::string name = event->len ? std::string(event->name) : std::string();
          bool overflow = event->mask & IN_Q_OVERFLOW;  // events were lost: assume the worst
          if (!overflow && !relevant(event->wd, name)) continue;
          if (!pending) first = overflow ? "(too many changes at once)" : name;
          pending = true;
          due = clock::now() + quiet_;
        }
      }
    }
    if (pending && clock::now() >= due) {
      pending = false;
      try {
        changed_(first);
      } catch (const std::exception& e) {
        log::error("reload after a change of {} failed: {}", first, e.what());
      }
    }
  }
}

}  // namespace stepline::host::service
