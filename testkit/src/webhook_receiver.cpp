#include "testkit/webhook_receiver.hpp"

#include <stdexcept>
#include <thread>

#include <sys/wait.h>

#include <curl/curl.h>
#include <rapidjson/document.h>

namespace stepline::test {
namespace {

std::size_t append(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

std::string text(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

std::map<std::string, std::string> strings(const rapidjson::Value& object, const char* name) {
  std::map<std::string, std::string> out;
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsObject()) return out;
  for (const auto& member : it->value.GetObject())
    if (member.value.IsString()) out[member.name.GetString()] = member.value.GetString();
  return out;
}

}  // namespace

std::string ReceivedRequest::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string webhook_receiver_script() {
  return std::string(STEPLINE_SOURCE_DIR) + "/testkit/webhook_receiver.mjs";
}

WebhookReceiver::WebhookReceiver(Options options) : dir_("stepline-webhook-receiver-") {
  port_ = free_port();
  std::vector<std::string> argv = {"node", webhook_receiver_script(), "--port",
                                   std::to_string(port_)};
  if (options.tls) {
    tls_ = make_tls_files(dir_.path());
    argv.insert(argv.end(), {"--cert", tls_->server_cert, "--key", tls_->server_key});
  }
  if (!options.secret.empty()) argv.insert(argv.end(), {"--secret", options.secret});
  if (options.count_only) argv.push_back("--count-only");
  pid_ = spawn(argv, {}, dir_.path() / "receiver.log");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!port_open(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("the webhook receiver exited at start:\n" +
                               tail(dir_.path() / "receiver.log"));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      terminate(pid_);
      pid_ = -1;
      throw std::runtime_error("the webhook receiver did not listen within 30 s:\n" +
                               tail(dir_.path() / "receiver.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

WebhookReceiver::~WebhookReceiver() {
  if (pid_ > 0) terminate(pid_, std::chrono::seconds(10));
}

std::string WebhookReceiver::url(const std::string& path) const {
  return (tls_ ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port_) + path;
}

std::string WebhookReceiver::control(const std::string& method, const std::string& path,
                                     const std::string& body) const {
  CURL* easy = curl_easy_init();
  std::string out;
  const std::string target = url(path);
  curl_easy_setopt(easy, CURLOPT_URL, target.c_str());
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (tls_) curl_easy_setopt(easy, CURLOPT_CAINFO, tls_->ca_cert.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT, 30L);
  CURLcode code = curl_easy_perform(easy);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(easy);
  if (code != CURLE_OK || status >= 300)
    throw std::runtime_error(
        "webhook receiver control " + path + " failed: " +
        (code != CURLE_OK ? curl_easy_strerror(code) : "HTTP " + std::to_string(status)));
  return out;
}

void WebhookReceiver::script(const std::string& json_array) {
  control("POST", "/_control/script", json_array);
}

void WebhookReceiver::reset() {
  control("POST", "/_control/reset");
}

std::vector<ReceivedRequest> WebhookReceiver::received() const {
  rapidjson::Document document;
  const std::string json = control("GET", "/_control/received");
  document.Parse(json.c_str(), json.size());
  if (document.HasParseError() || !document.IsArray())
    throw std::runtime_error("webhook receiver: unreadable /_control/received");
  std::vector<ReceivedRequest> out;
  for (const auto& item : document.GetArray()) {
    ReceivedRequest r;
    r.method = text(item, "method");
    r.path = text(item, "path");
    r.query = strings(item, "query");
    r.headers = strings(item, "headers");
    r.body = text(item, "body");
    r.sha256 = text(item, "sha256");
    r.signature = text(item, "signature");
    r.duplicate = item.HasMember("duplicate") && item["duplicate"].IsTrue();
    r.connection = item.HasMember("connection") ? item["connection"].GetInt() : 0;
    r.http_version = text(item, "httpVersion");
    r.at_ms = item.HasMember("at") && item["at"].IsNumber()
                  ? static_cast<std::int64_t>(item["at"].GetDouble())
                  : 0;
    out.push_back(std::move(r));
  }
  return out;
}

long WebhookReceiver::count() const {
  rapidjson::Document document;
  const std::string json = control("GET", "/_control/count");
  document.Parse(json.c_str(), json.size());
  if (document.HasParseError() || !document.IsObject() || !document.HasMember("count"))
    throw std::runtime_error("webhook receiver: unreadable /_control/count");
  return document["count"].GetInt64();
}

std::vector<ReceivedRequest> WebhookReceiver::wait_for(std::size_t count,
                                                       std::chrono::seconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    auto requests = received();
    if (requests.size() >= count || std::chrono::steady_clock::now() > until) return requests;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace stepline::test
