// One HTTP request as a handler sees it, and the response it gives: plain values, so code that
// serves routes never includes the HTTP library underneath.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stepline::http {

struct Request {
  std::string method;  ///< "GET", "POST", … as sent
  std::string target;  ///< as sent: "/api/data/v9.2/accounts(…)?$select=name"
  std::string path;    ///< the target before '?', percent-decoded
  std::string query;   ///< the target after '?', as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote;  ///< the client's address
  bool tls = false;    ///< arrived over TLS

  /// The first header with this name (compared without regard to case, as HTTP says), or empty.
  std::string_view header(std::string_view name) const noexcept;
  bool has_header(std::string_view name) const noexcept;
};

struct Response {
  int status = 200;
  std::string content_type;  ///< empty = no body type (e.g. 204)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;  ///< close the connection after this response

  Response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  static Response json(int status, std::string body);
};

/// The query string's parameters, percent-decoded ('+' is a space; an escape that is not two hex
/// digits is kept as written); a later repeat of a name wins. Names keep their case.
std::map<std::string, std::string, std::less<>> parse_query(std::string_view query);

/// "Not Found" for 404, …; "Unknown" otherwise.
std::string_view reason(int status) noexcept;

}  // namespace stepline::http
