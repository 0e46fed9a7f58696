#include "testkit/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <list>
#include <stdexcept>
#include <string>
#include <vector>

namespace stepline::test {
namespace {

constexpr std::size_t buffer_limit = 1 << 20;  ///< held per direction before reading stops

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

void nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/// Closes `fd` so that the peer gets a reset instead of an orderly end.
void reset(int fd) {
  linger hard{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(fd);
}

/// One proxied connection: the client's socket, the server's, and what each has sent that the
/// other has not taken yet.
struct Link {
  int client = -1, server = -1;
  std::string to_server, to_client;
  bool broken = false;
};

/// Reads what `from` has into `into`; false at its end or on an error.
bool pull(int from, std::string& into) {
  char chunk[16384];
  for (;;) {
    auto n = ::read(from, chunk, sizeof chunk);
    if (n > 0) {
      into.append(chunk, static_cast<std::size_t>(n));
      if (into.size() >= buffer_limit) return true;
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
}

/// Writes what `from` holds to `to`; the bytes written, or -1 on an error.
long push(int to, std::string& from) {
  if (from.empty()) return 0;
  auto n = ::send(to, from.data(), from.size(), MSG_NOSIGNAL);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
  from.erase(0, static_cast<std::size_t>(n));
  return n;
}

}  // namespace

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int yes = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  auto addr = loopback(0);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, 64) != 0 || ::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(listener_);
    throw std::runtime_error("tcp proxy: cannot listen on 127.0.0.1");
  }
  socklen_t length = sizeof addr;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length);
  port_ = ntohs(addr.sin_port);
  nonblocking(listener_);
  thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  (void)::write(wake_[1], "x", 1);
  thread_.join();
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::size_t TcpProxy::cut() {
  std::unique_lock lock(mutex_);
  const int mine = ++cuts_requested_;
  (void)::write(wake_[1], "x", 1);
  cut_done_.wait(lock, [&] { return cuts_done_ >= mine; });
  return last_cut_;
}

void TcpProxy::stall() {
  stalled_ = true;
  (void)::write(wake_[1], "x", 1);
}

void TcpProxy::resume() {
  stalled_ = false;
  (void)::write(wake_[1], "x", 1);
}

void TcpProxy::run() {
  std::list<Link> links;
  std::vector<pollfd> fds;
  std::vector<Link*> owners;  ///< the link of each fds entry past the first two
  while (!stopping_) {
    // A cut resets every connection at once, before anything else is forwarded.
    if (cuts_requested_.load() > cuts_done_) {
      std::lock_guard lock(mutex_);
      last_cut_ = links.size();
      for (auto& l : links) {
        reset(l.client);
        reset(l.server);
      }
      links.clear();
      cuts_done_ = cuts_requested_.load();
      cut_done_.notify_all();
    }
    const bool stalled = stalled_.load();
    fds.assign({{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}});
    owners.clear();
    for (auto& l : links) {
      short to_client = 0, to_server = 0;
      if (!stalled) {
        if (l.to_server.size() < buffer_limit) to_client |= POLLIN;
        if (l.to_client.size() < buffer_limit) to_server |= POLLIN;
        if (!l.to_client.empty()) to_client |= POLLOUT;
        if (!l.to_server.empty()) to_server |= POLLOUT;
      }
      fds.push_back({l.client, to_client, 0});
      fds.push_back({l.server, to_server, 0});
      owners.push_back(&l);
    }
    if (::poll(fds.data(), fds.size(), 100) < 0) continue;
    if (fds[0].revents) {
      char drained[64];
      while (::read(wake_[0], drained, sizeof drained) > 0) {
      }
    }
    if (fds[1].revents & POLLIN) {
      for (int client; (client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
        int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        auto target = loopback(target_port_);
        if (::connect(server, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
          ::close(server);
          reset(client);  // the server is not there: the client sees a refused connection
          continue;
        }
        nonblocking(client);
        nonblocking(server);
        links.push_back({client, server, {}, {}, false});
        ++accepted_;
      }
    }
    for (std::size_t i = 0; i < owners.size(); ++i) {
      Link& l = *owners[i];
      const auto& c = fds[2 + 2 * i];
      const auto& s = fds[3 + 2 * i];
      if ((c.revents & POLLIN) && !pull(l.client, l.to_server)) l.broken = true;
      if ((s.revents & POLLIN) && !pull(l.server, l.to_client)) l.broken = true;
      if ((c.revents | s.revents) & (POLLERR | POLLHUP)) l.broken = true;
      long a = push(l.server, l.to_server), b = push(l.client, l.to_client);
      if (a < 0 || b < 0) l.broken = true;
      forwarded_ += static_cast<std::size_t>(std::max(0L, a) + std::max(0L, b));
    }
    // One side ended: what it sent is passed on, then the other side is closed too.
    for (auto it = links.begin(); it != links.end();) {
      if (it->broken) {
        push(it->server, it->to_server);
        push(it->client, it->to_client);
        ::close(it->client);
        ::close(it->server);
        it = links.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& l : links) {
    ::close(l.client);
    ::close(l.server);
  }
}

}  // namespace stepline::test
