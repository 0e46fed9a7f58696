#include <stepline/host/process/child_process.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

extern char** environ;

namespace stepline::host::process {
namespace {

[[noreturn]] void throw_errno(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

// A pipe whose ends close themselves; the read end is non-blocking for the poll loop.
struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (::pipe2(fd, O_CLOEXEC) != 0) throw_errno(errno, "cannot create a pipe for a child process");
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (fd[0] >= 0) ::close(fd[0]);
    fd[0] = -1;
  }
  void close_write() {
    if (fd[1] >= 0) ::close(fd[1]);
    fd[1] = -1;
  }
};

}  // namespace

namespace {

std::string describe_signal(int signal) {
  const char* name = ::sigabbrev_np(signal);
  const char* text = ::sigdescr_np(signal);
  return fmt::format("SIG{} ({})", name ? name : std::to_string(signal), text ? text : "");
}

// Waits for `fd` to be ready for `events` until `deadline`; false when it passed.
bool wait_ready(int fd, short events, ChildProcess::Clock::time_point deadline) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - ChildProcess::Clock::now());
    if (left.count() < 0) return false;
    pollfd p{fd, events, 0};
    const int ready =
        ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count() + 1, 1 << 30)));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) throw_errno(errno, "poll on a child process's channel");
  }
}

}  // namespace

std::string ChildEnd::describe() const {
  return signal != 0 ? describe_signal(signal) : fmt::format("exit status {}", exit_code);
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::vector<std::string>& environment) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess: no program given");
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
    throw_errno(errno, "cannot create a channel for a child process");
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, ends[1], STDIN_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, ends[1], STDOUT_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (const auto& e : environment) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  const int spawned =
      ::posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), env.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(ends[1]);
  if (spawned != 0) {
    ::close(ends[0]);
    throw_errno(spawned, fmt::format("cannot start {}", argv[0]));
  }
  channel_ = ends[0];
}

ChildProcess::~ChildProcess() {
  stop(std::chrono::milliseconds(0));
}

ChildProcess::Io ChildProcess::write(std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    if (channel_ < 0) return Io::closed;
    const ssize_t n = ::send(channel_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(channel_, POLLOUT, deadline)) return Io::timed_out;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return Io::closed;
    }
  }
  return Io::done;
}

ChildProcess::Io ChildProcess::read(char* out, std::size_t size, Clock::time_point deadline) {
  while (size > 0) {
    if (channel_ < 0) return Io::closed;
    const ssize_t n = ::recv(channel_, out, size, MSG_DONTWAIT);
    if (n > 0) {
      out += n;
      size -= static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(channel_, POLLIN, deadline)) return Io::timed_out;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return Io::closed;
    }
  }
  return Io::done;
}

bool ChildProcess::readable() const {
  if (channel_ < 0) return true;
  pollfd p{channel_, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

ChildEnd ChildProcess::stop(std::chrono::milliseconds grace) {
  if (channel_ >= 0) ::close(channel_);
  channel_ = -1;
  if (reaped_ || pid_ <= 0) return end_;
  const auto deadline = Clock::now() + grace;
  int status = 0;
  bool killed = false;
  while (true) {
    const pid_t done = ::waitpid(pid_, &status, killed ? 0 : WNOHANG);
    if (done == pid_) break;
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) return end_;  // not our child any more (reaped elsewhere)
    if (Clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      killed = true;
    } else {
      ::usleep(1000);
    }
  }
  reaped_ = true;
  if (WIFEXITED(status)) end_.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) end_.signal = WTERMSIG(status);
  return end_;
}

std::string ChildResult::describe_end(std::chrono::milliseconds timeout) const {
  if (timed_out) return fmt::format("timed out after {:.1f} s", timeout.count() / 1000.0);
  if (signal != 0) return "signal " + describe_signal(signal);
  return fmt::format("exit status {}", exit_code);
}

ChildResult run_child(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty()) throw std::invalid_argument("run_child: no program given");
  Pipe out, err;
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out.fd[1], STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, err.fd[1], STDERR_FILENO);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw_errno(spawned, fmt::format("cannot start {}", argv[0]));
  out.close_write();
  err.close_write();

  ChildResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_streams = 2;
  while (open_streams > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    const int ready = ::poll(fds, 2, static_cast<int>(left.count()) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        fds[i].fd = -1;  // poll ignores negative descriptors
        --open_streams;
      }
    }
  }

  // Both streams closed: the child is exiting (or handed its pipes to a grandchild, which the
  // deadline still bounds).
  int status = 0;
  while (true) {
    if (result.timed_out) ::kill(pid, SIGKILL);
    const pid_t done = ::waitpid(pid, &status, result.timed_out ? 0 : WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw_errno(errno, "waitpid");
    if (done == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        result.timed_out = true;
      } else {
        ::usleep(2000);
      }
    }
  }
  if (!result.timed_out) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace stepline::host::process
