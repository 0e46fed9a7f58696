#include "stepline/host/http_client/client.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <curl/curl.h>

#include <stepline/text.hpp>
#include <stepline/thread_name.hpp>

namespace stepline::host::http_client {
namespace detail {

/// One request on its way: owns what libcurl points into until the transfer is done.
struct Transfer {
  Request request;
  Client::Callback done;
  Response response;
  curl_slist* header_list = nullptr;
  CURL* easy = nullptr;  ///< while it runs
  std::size_t header_bytes = 0;
  char error[CURL_ERROR_SIZE] = {};
  std::size_t max_body = 0;

  ~Transfer() { curl_slist_free_all(header_list); }
};

}  // namespace detail

using detail::Transfer;

namespace {

// A server may send any number of headers; these bounds keep a hostile one from growing memory.
constexpr std::size_t max_headers = 100;
constexpr std::size_t max_header_bytes = 16 * 1024;

void global_init() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK)
    throw std::runtime_error(std::string("libcurl failed to start: ") + curl_easy_strerror(code));
}

using text::lower;
using text::trim;

Failure failure_of(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return Failure::none;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return Failure::connect;
    case CURLE_OPERATION_TIMEDOUT:
      return Failure::timeout;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return Failure::tls;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return Failure::invalid;
    default:
      return Failure::network;
  }
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t bytes = size * count;
  std::size_t room = t->max_body - std::min(t->max_body, t->response.body.size());
  if (bytes > room) t->response.body_cut = true;
  t->response.body.append(data, std::min(bytes, room));
  return bytes;  // the rest is read and dropped, so the connection stays usable
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {  // a new response (after a 100 Continue): start over
    t->response.headers.clear();
    t->header_bytes = 0;
    return bytes;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  t->header_bytes += bytes;
  if (t->response.headers.size() < max_headers && t->header_bytes <= max_header_bytes)
    t->response.headers.emplace_back(lower(trim(line.substr(0, colon))),
                                     std::string(trim(line.substr(colon + 1))));
  return bytes;
}

}  // namespace

std::string_view to_string(Failure failure) noexcept {
  switch (failure) {
    case Failure::none:
      return "none";
    case Failure::connect:
      return "connect";
    case Failure::timeout:
      return "timeout";
    case Failure::tls:
      return "tls";
    case Failure::network:
      return "network";
    case Failure::invalid:
      return "invalid";
    case Failure::shutdown:
      return "shutdown";
  }
  return "unknown";
}

const std::string* Response::header(std::string_view name) const {
  std::string wanted = lower(name);
  for (const auto& [key, value] : headers)
    if (key == wanted) return &value;
  return nullptr;
}

class Client::Impl {
 public:
  explicit Impl(ClientOptions options) : options_(std::move(options)) {
    global_init();
    multi_ = curl_multi_init();
    if (!multi_) throw std::runtime_error("libcurl could not make a multi handle");
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_host_connections);
    // The connection cache: enough for every host's connections to stay open between posts.
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS,
                      std::max(64L, options_.max_host_connections * 4));
    thread_ = std::thread([this] {
      name_this_thread("sl-http-client");
      run();
    });
  }

  ~Impl() {
    shutdown(std::chrono::seconds(5));
    curl_multi_cleanup(multi_);
  }

  void send(Request request, Callback done) {
    auto transfer = std::make_unique<Transfer>();
    transfer->request = std::move(request);
    transfer->done = std::move(done);
    transfer->max_body = options_.max_response_body;
    {
      std::unique_lock lock(mutex_);
      // A callback (on the client's thread) may send too: waiting there would wait for itself.
      if (std::this_thread::get_id() != thread_.get_id())
        room_.wait(lock, [&] { return stopping_ || queued_.size() + active_ < options_.window; });
      if (!stopping_) {
        queued_.push_back(std::move(transfer));
        ++stats_.requests;
      }
    }
    if (transfer) {  // refused: shut down
      fail(*transfer, Failure::shutdown, "the HTTP client is shut down");
      return;
    }
    curl_multi_wakeup(multi_);
  }

  void shutdown(std::chrono::milliseconds grace) {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        stopping_ = true;
        deadline_ = std::chrono::steady_clock::now() + grace;
      }
    }
    room_.notify_all();
    curl_multi_wakeup(multi_);
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

  ClientStats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  static void fail(Transfer& t, Failure failure, std::string error) {
    t.response = {};
    t.response.failure = failure;
    t.response.error = std::move(error);
    if (t.done) t.done(std::move(t.response));
  }

  CURL* easy_handle() {
    if (!idle_.empty()) {
      CURL* easy = idle_.back();
      idle_.pop_back();
      curl_easy_reset(easy);
      return easy;
    }
    return curl_easy_init();
  }

  void start(std::unique_ptr<Transfer> transfer) {
    Transfer& t = *transfer;
    CURL* easy = easy_handle();
    if (!easy) {
      fail(t, Failure::network, "libcurl could not make a handle");
      return;
    }
    const Request& r = t.request;
    curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min(r.timeout, options_.connect_timeout).count()));
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);  // prefer a stream on an open HTTP/2 link
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
    if (r.method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else {
      if (r.method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
    // libcurl would wait up to a second for "100 Continue" before sending a large body, and
    // would label a body it sends as a form: neither is what the request says.
    t.header_list = curl_slist_append(t.header_list, "Expect:");
    const bool typed = std::any_of(r.headers.begin(), r.headers.end(),
                                   [](const auto& h) { return lower(h.first) == "content-type"; });
    if (!typed) t.header_list = curl_slist_append(t.header_list, "Content-Type:");
    for (const auto& [name, value] : r.headers)
      t.header_list = curl_slist_append(t.header_list, (name + ": " + value).c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.header_list);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
    t.easy = easy;
    if (CURLMcode code = curl_multi_add_handle(multi_, easy); code != CURLM_OK) {
      idle_.push_back(easy);
      fail(t, Failure::network, curl_multi_strerror(code));
      return;
    }
    running_.push_back(std::move(transfer));
  }

  void finish(CURL* easy, CURLcode code) {
    Transfer* raw = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
    curl_multi_remove_handle(multi_, easy);
    auto it = std::find_if(running_.begin(), running_.end(),
                           [&](const auto& t) { return t.get() == raw; });
    std::unique_ptr<Transfer> transfer = std::move(*it);
    running_.erase(it);
    Response& response = transfer->response;
    long connects = 0, version = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
    if (code == CURLE_OK) {
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
      curl_off_t retry_after = 0;
      if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
          response.header("retry-after"))
        response.retry_after = std::chrono::seconds(retry_after);
      response.http_version = version == CURL_HTTP_VERSION_2_0 ? "2" : "1.1";
    } else {
      response.failure = failure_of(code);
      response.error = transfer->error[0] ? transfer->error : curl_easy_strerror(code);
      response.headers.clear();
      response.body.clear();
    }
    idle_.push_back(easy);
    {
      std::lock_guard lock(mutex_);
      stats_.connections_opened += static_cast<std::uint64_t>(connects);
      if (response.http_version == "2") ++stats_.http2_responses;
      --active_;
    }
    room_.notify_one();
    if (transfer->done) transfer->done(std::move(response));
  }

  void run() {
    for (;;) {
      std::deque<std::unique_ptr<Transfer>> arrived;
      bool stopping;
      std::chrono::steady_clock::time_point deadline;
      {
        std::lock_guard lock(mutex_);
        arrived.swap(queued_);
        active_ += arrived.size();
        stopping = stopping_;
        deadline = deadline_;
      }
      for (auto& transfer : arrived) start(std::move(transfer));
      int still_running = 0;
      curl_multi_perform(multi_, &still_running);
      int left = 0;
      while (CURLMsg* message = curl_multi_info_read(multi_, &left))
        if (message->msg == CURLMSG_DONE) finish(message->easy_handle, message->data.result);
      if (stopping && (running_.empty() || std::chrono::steady_clock::now() >= deadline)) break;
      curl_multi_poll(multi_, nullptr, 0, 200, nullptr);
    }
    abandon();
  }

  // At the end of the grace period: whatever is still running or queued fails with shutdown.
  void abandon() {
    for (auto& transfer : running_) {
      curl_multi_remove_handle(multi_, transfer->easy);
      curl_easy_cleanup(transfer->easy);
      fail(*transfer, Failure::shutdown, "the HTTP client shut down before the response came");
    }
    running_.clear();
    std::deque<std::unique_ptr<Transfer>> queued;
    {
      std::lock_guard lock(mutex_);
      queued.swap(queued_);
      active_ = 0;
    }
    for (auto& transfer : queued)
      fail(*transfer, Failure::shutdown, "the HTTP client shut down before the request was sent");
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    idle_.clear();
  }

  ClientOptions options_;
  CURLM* multi_ = nullptr;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable room_;
  std::deque<std::unique_ptr<Transfer>> queued_;
  std::size_t active_ = 0;  ///< handed to the thread, not yet finished
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_;
  ClientStats stats_;
  // Only the client's thread touches these.
  std::list<std::unique_ptr<Transfer>> running_;
  std::vector<CURL*> idle_;
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Client::~Client() = default;

std::future<Response> Client::send(Request request) {
  auto promise = std::make_shared<std::promise<Response>>();
  auto future = promise->get_future();
  send(std::move(request),
       [promise](Response response) { promise->set_value(std::move(response)); });
  return future;
}

void Client::send(Request request, Callback done) {
  impl_->send(std::move(request), std::move(done));
}

Response Client::exchange(Request request) {
  return send(std::move(request)).get();
}

void Client::shutdown(std::chrono::milliseconds grace) {
  impl_->shutdown(grace);
}

ClientStats Client::stats() const {
  return impl_->stats();
}

}  // namespace stepline::host::http_client
