#include "stepline/azure/blob_request.hpp"

#include <algorithm>
#include <array>
#include <ctime>
#include <map>

#include <stepline/text.hpp>

#include "stepline/azure/digest.hpp"
#include "stepline/azure/sas_token.hpp"

namespace stepline::azure::blob {
namespace {

using text::lower;

// Leading and trailing blanks dropped, inner runs folded to one space, as the service
// canonicalizes header values.
std::string folded(std::string_view value) {
  std::string out;
  bool blank = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      blank = !out.empty();
      continue;
    }
    if (blank) out += ' ';
    blank = false;
    out += c;
  }
  return out;
}

struct UrlParts {
  std::string origin;  // scheme://authority, lower case
  std::string path;    // as sent, percent-encoded
  std::string query;   // without '?'
};

UrlParts split_url(std::string_view url) {
  UrlParts parts;
  auto scheme_end = url.find("://");
  auto path_start = scheme_end == std::string_view::npos ? 0 : url.find('/', scheme_end + 3);
  auto query_start = url.find('?');
  if (path_start == std::string_view::npos || path_start > query_start) path_start = query_start;
  parts.origin = lower(url.substr(0, std::min(path_start, url.size())));
  if (path_start != std::string_view::npos) {
    parts.path = std::string(url.substr(path_start, query_start - path_start));
    if (query_start != std::string_view::npos)
      parts.query = std::string(url.substr(query_start + 1));
  }
  if (parts.path.empty()) parts.path = "/";
  return parts;
}

// Letters, digits and -._~ stay; '/' separates segments and stays; everything else is %XX.
std::string encode_path(std::string_view name) {
  return text::percent_encode(name, "-._~/");
}

std::string find_header(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers)
    if (lower(key) == name) return value;
  return {};
}

Request authorized(const StorageConnectionString& account, std::string method, std::string url,
                   Headers headers, std::chrono::system_clock::time_point now) {
  headers.emplace_back("x-ms-date", http_date(now));
  headers.emplace_back("x-ms-version", std::string(api_version));
  if (account.has_signature()) {
    url += (url.find('?') == std::string::npos ? '?' : '&') + account.shared_access_signature;
  } else {
    headers.emplace_back(
        "Authorization",
        shared_key_authorization(account.account_name, account.account_key, method, url, headers));
  }
  return {std::move(method), std::move(url), std::move(headers)};
}

}  // namespace

std::string http_date(std::chrono::system_clock::time_point time) {
  static constexpr std::array<const char*, 7> days = {"Sun", "Mon", "Tue", "Wed",
                                                      "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[40];
  std::snprintf(out, sizeof out, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return out;
}

std::string shared_key_authorization(std::string_view account, std::string_view key_base64,
                                     std::string_view method, std::string_view url,
                                     const Headers& headers) {
  std::string to_sign = std::string(method) + "\n";
  for (std::string_view name :
       {"content-encoding", "content-language", "content-length", "content-md5", "content-type",
        "date", "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"}) {
    std::string value = find_header(headers, name);
    if (name == "content-length" && value == "0") value.clear();  // since version 2015-02-21
    to_sign += value + "\n";
  }
  std::map<std::string, std::string> ms_headers;
  for (const auto& [key, value] : headers)
    if (std::string name = lower(key); name.starts_with("x-ms-")) ms_headers[name] = folded(value);
  for (const auto& [name, value] : ms_headers) to_sign += name + ":" + value + "\n";

  UrlParts parts = split_url(url);
  to_sign += "/" + std::string(account) + parts.path;
  std::map<std::string, std::vector<std::string>> parameters;
  std::string_view query = parts.query;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    std::string name = lower(decode_uri_component(pair.substr(0, eq)));
    std::string value =
        eq == std::string_view::npos ? std::string() : decode_uri_component(pair.substr(eq + 1));
    parameters[name].push_back(std::move(value));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  for (auto& [name, values] : parameters) {
    std::sort(values.begin(), values.end());
    to_sign += "\n" + name + ":";
    for (std::size_t i = 0; i < values.size(); ++i) to_sign += (i ? "," : "") + values[i];
  }
  auto key = base64_decode(key_base64);
  if (!key) throw ConnectionStringError("the storage account key is not base64");
  return "SharedKey " + std::string(account) + ":" + base64_encode(hmac_sha256(*key, to_sign));
}

std::string blob_url(const StorageConnectionString& account, std::string_view container,
                     std::string_view name) {
  return account.blob_endpoint + "/" + std::string(container) + "/" + encode_path(name);
}

bool is_blob_of(const StorageConnectionString& account, std::string_view url) {
  UrlParts endpoint = split_url(account.blob_endpoint), blob = split_url(url);
  std::string prefix = endpoint.path == "/" ? "/" : endpoint.path + "/";
  return blob.origin == endpoint.origin && blob.query.empty() && blob.path.starts_with(prefix) &&
         blob.path.find("/..") == std::string::npos;
}

Request put_blob(const StorageConnectionString& account, std::string_view container,
                 std::string_view name, std::string_view body, std::string_view content_type,
                 const Headers& metadata, std::chrono::system_clock::time_point now) {
  Headers headers = {{"Content-Length", std::to_string(body.size())},
                     {"Content-MD5", base64_encode(md5(body))},
                     {"Content-Type", std::string(content_type)},
                     {"x-ms-blob-type", "BlockBlob"}};
  for (const auto& [key, value] : metadata) headers.emplace_back("x-ms-meta-" + key, value);
  return authorized(account, "PUT", blob_url(account, container, name), std::move(headers), now);
}

Request get_blob(const StorageConnectionString& account, std::string_view url,
                 std::chrono::system_clock::time_point now) {
  return authorized(account, "GET", std::string(url), {}, now);
}

Request delete_blob(const StorageConnectionString& account, std::string_view url,
                    std::chrono::system_clock::time_point now) {
  return authorized(account, "DELETE", std::string(url), {}, now);
}

Request create_container(const StorageConnectionString& account, std::string_view container,
                         std::chrono::system_clock::time_point now) {
  return authorized(account, "PUT",
                    account.blob_endpoint + "/" + std::string(container) + "?restype=container",
                    {{"Content-Length", "0"}}, now);
}

}  // namespace stepline::azure::blob
