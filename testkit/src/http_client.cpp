#include "testkit/http_client.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stepline/text.hpp>

namespace stepline::test {

std::string HttpReply::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

HttpConnection::HttpConnection(int port) : port_(port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    throw HttpClientError("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + why);
  }
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void HttpConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw HttpClientError(std::string("send failed: ") + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string HttpConnection::read_some(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready == 0)
    throw HttpClientError("no reply within " + std::to_string(timeout.count()) + " ms");
  char buffer[65536];
  ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
  if (n < 0) throw HttpClientError(std::string("recv failed: ") + std::strerror(errno));
  if (n == 0) throw HttpClientError("the server closed the connection");
  return std::string(buffer, static_cast<std::size_t>(n));
}

HttpReply HttpConnection::read_reply(std::chrono::milliseconds timeout, bool head) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    auto d = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return std::max(d, std::chrono::milliseconds(1));
  };
  std::size_t end;
  while ((end = pending_.find("\r\n\r\n")) == std::string::npos) pending_ += read_some(left());
  std::string head_text = pending_.substr(0, end);
  pending_.erase(0, end + 4);
  HttpReply reply;
  std::size_t line_end = head_text.find("\r\n");
  std::string status_line = head_text.substr(0, line_end);
  auto space = status_line.find(' ');
  if (space == std::string::npos) throw HttpClientError("bad status line: " + status_line);
  reply.status = std::stoi(status_line.substr(space + 1, 3));
  std::size_t at = line_end == std::string::npos ? head_text.size() : line_end + 2;
  while (at < head_text.size()) {
    std::size_t next = head_text.find("\r\n", at);
    if (next == std::string::npos) next = head_text.size();
    std::string line = head_text.substr(at, next - at);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      reply.headers[text::lower(line.substr(0, colon))] =
          std::string(text::trim_start(std::string_view(line).substr(colon + 1)));
    }
    at = next + 2;
  }
  if (reply.status == 100) return read_reply(left(), head);  // interim: the real one follows
  std::size_t length = 0;
  if (auto it = reply.headers.find("content-length"); it != reply.headers.end())
    length = std::stoul(it->second);
  if (head || reply.status == 204 || reply.status == 304) length = 0;
  while (pending_.size() < length) pending_ += read_some(left());
  reply.body = pending_.substr(0, length);
  pending_.erase(0, length);
  return reply;
}

HttpReply HttpConnection::request(const std::string& method, const std::string& target,
                                  const std::string& body,
                                  const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string text =
      method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) + "\r\n";
  for (const auto& [name, value] : headers) text += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT")
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  text += "\r\n" + body;
  send(text);
  return read_reply(std::chrono::seconds(60), method == "HEAD");
}

bool HttpConnection::closed_by_peer(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) == 0) return false;
    char buffer[4096];
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return true;
  }
}

HttpReply http_request(int port, const std::string& method, const std::string& target,
                       const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpConnection c(port);
  return c.request(method, target, body, headers);
}

}  // namespace stepline::test
