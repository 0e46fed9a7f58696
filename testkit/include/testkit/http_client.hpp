// A blocking HTTP/1.1 client on a raw socket, for tests of the HTTP servers: it sends exactly the
// bytes a test asks for (malformed heads, a body one byte at a time), keeps a connection open
// across requests, and reads replies with a deadline.
#pragma once

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stepline::test {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names in lower case; a repeat keeps the last
  std::string body;

  std::string header(const std::string& lower_case_name) const;
};

/// The connection failed, the peer closed it, or a reply did not come in time.
struct HttpClientError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class HttpConnection {
 public:
  /// Connects to 127.0.0.1:port.
  explicit HttpConnection(int port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void send(std::string_view bytes);
  /// Sends a request (Host, Content-Length and the given headers) and reads its reply.
  HttpReply request(const std::string& method, const std::string& target,
                    const std::string& body = {},
                    const std::vector<std::pair<std::string, std::string>>& headers = {});
  /// Reads one reply (a HEAD reply when `head`: no body read).
  HttpReply read_reply(std::chrono::milliseconds timeout = std::chrono::seconds(30),
                       bool head = false);
  /// True when the server closes the connection within `timeout` (reads and drops bytes).
  bool closed_by_peer(std::chrono::milliseconds timeout);

 private:
  std::string read_some(std::chrono::milliseconds timeout);
  int fd_ = -1;
  int port_;
  std::string pending_;
};

/// One request on a fresh connection.
HttpReply http_request(int port, const std::string& method, const std::string& target,
                       const std::string& body = {},
                       const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace stepline::test
