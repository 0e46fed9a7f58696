#include <stepline/host/service/control_socket.hpp>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <stdexcept>
#include <system_error>

#include <stepline/host/log.hpp>
#include <stepline/thread_name.hpp>

namespace stepline::host::service {
namespace fs = std::filesystem;
namespace {

/// A request line longer than this is refused: the only request is one path.
constexpr std::size_t max_request = 8192;
/// How long a client may take to send its line.
constexpr int request_timeout_ms = 5000;

sockaddr_un address_of(const fs::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  auto text = path.string();
  if (text.size() >= sizeof address.sun_path)
    throw std::runtime_error(*control_socket_problem(path));
  ::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  return address;
}

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away; nothing else to do
    done += std::size_t(n);
  }
}

}  // namespace

fs::path control_socket_path(const fs::path& data_folder, long pid) {
  auto folder = data_folder.empty() ? fs::path("data") : data_folder;
  return fs::absolute(folder / "control" / ("serve-" + std::to_string(pid) + ".sock"))
      .lexically_normal();
}

std::optional<std::string> control_socket_problem(const fs::path& path) {
  if (path.string().size() < sizeof(sockaddr_un{}.sun_path)) return std::nullopt;
  return "the control socket " + path.string() + " is longer than the " +
         std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
         " bytes a Unix socket's name may have; use a shorter host.data_folder, or send "
         "stepline serve SIGHUP to reload";
}

ControlSocket::ControlSocket(fs::path path, Handler handler)
    : path_(std::move(path)), handler_(std::move(handler)) {
  auto address = address_of(path_);
  std::error_code ec;
  fs::create_directories(path_.parent_path(), ec);
  if (ec)
    throw std::runtime_error("cannot create " + path_.parent_path().string() + ": " + ec.message());
  ::chmod(path_.parent_path().c_str(), 0700);
  // A process with our pid that is gone (the name is ours now) left this behind.
  ::unlink(path_.c_str());
  listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listener_ < 0) throw std::runtime_error(std::string("socket: ") + ::strerror(errno));
  // Owner only from the moment the name exists.
  auto old_mask = ::umask(0177);
  int bound = ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address);
  int error = errno;
  ::umask(old_mask);
  if (bound != 0 || ::listen(listener_, 8) != 0) {
    if (bound == 0) error = errno;
    ::close(listener_);
    throw std::runtime_error("cannot listen on the control socket " + path_.string() + ": " +
                             ::strerror(error));
  }
  wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] {
    name_this_thread("sl-control");
    run();
  });
}

ControlSocket::~ControlSocket() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
  thread_.join();
  ::close(wake_);
  ::close(listener_);
  ::unlink(path_.c_str());
}

void ControlSocket::run() {
  for (;;) {
    pollfd fds[2] = {{listener_, POLLIN, 0}, {wake_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log::error("the control socket stopped: poll: {}", ::strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    Fd owned(connection);
    serve_one(connection);
  }
}

// One client at a time: the only request, a reload, is serialized anyway.
void ControlSocket::serve_one(int connection) {
  std::string line;
  char buffer[1024];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(request_timeout_ms);
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd fds[2] = {{connection, POLLIN, 0}, {wake_, POLLIN, 0}};
    if (left.count() <= 0 || ::poll(fds, 2, int(left.count())) <= 0 || fds[1].revents) return;
    auto n = ::recv(connection, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    line.append(buffer, std::size_t(n));
    if (line.size() > max_request) {
      write_all(connection, "error the request is longer than " + std::to_string(max_request) +
                                " bytes\nend\n");
      return;
    }
  }
  line.erase(line.find('\n'));
  std::string answer;
  try {
    for (auto& text : handler_(line)) {
      for (auto& c : text)
        if (c == '\n' || c == '\r') c = ' ';
      answer += text + "\n";
    }
  } catch (const std::exception& e) {
    answer += std::string("error ") + e.what() + "\n";
  }
  write_all(connection, answer + "end\n");
}

std::vector<std::string> ask_control_socket(const fs::path& path, const std::string& request,
                                            std::chrono::milliseconds timeout) {
  auto address = address_of(path);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  if (::connect(fd.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    throw std::system_error(errno, std::generic_category(), path.string());
  write_all(fd.fd, request + "\n");
  std::string text;
  char buffer[4096];
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd.fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, int(left.count())) <= 0)
      throw std::runtime_error("no answer from " + path.string() + " within " +
                               std::to_string(timeout.count() / 1000) + " s");
    auto n = ::recv(fd.fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, std::size_t(n));
    if (text.size() > (1u << 20)) break;
  }
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line == "end") return lines;
    lines.push_back(std::move(line));
  }
  throw std::runtime_error(path.string() + " closed before answering whole");
}

}  // namespace stepline::host::service
