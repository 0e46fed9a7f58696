#include <stepline/claim_check/blob_reader.hpp>

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include <curl/curl.h>

#include <stepline/azure/blob_request.hpp>
#include <stepline/azure/digest.hpp>
#include <stepline/azure/storage_connection_string.hpp>

namespace stepline::claim_check {
namespace {

struct Received {
  std::string body;
  std::size_t limit = 0;  ///< more than this is an error: the blob is not what the reference says
  bool over = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* r = static_cast<Received*>(user);
  const std::size_t bytes = size * count;
  if (r->body.size() + bytes > r->limit) {
    r->over = true;
    return 0;  // stop the transfer
  }
  r->body.append(data, bytes);
  return bytes;
}

}  // namespace

class BlobReader::Impl {
 public:
  Impl(std::string_view connection, BlobReaderOptions options)
      : account_(azure::StorageConnectionString::parse(connection)), options_(std::move(options)) {
    static const CURLcode started = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (started != CURLE_OK) throw std::runtime_error("libcurl failed to start");
    easy_ = curl_easy_init();
    if (!easy_) throw std::runtime_error("libcurl could not make a handle");
  }

  ~Impl() { curl_easy_cleanup(easy_); }

  std::string fetch(const format::ClaimCheck& reference) {
    check_account(reference);
    if (reference.size > options_.max_size)
      throw std::runtime_error(
          "claim check " + reference.url + ": the message names " + std::to_string(reference.size) +
          " bytes, over the reader's limit of " + std::to_string(options_.max_size) +
          " (BlobReaderOptions::max_size); raise it if such contexts are real");
    Received received;
    // Room for the service's error document too; a longer blob fails the size check below.
    received.limit = std::max<std::size_t>(reference.size, 64 * 1024);
    received.body.reserve(reference.size);
    long status = perform(azure::blob::get_blob(account_, reference.url), received, reference);
    if (received.over)
      throw std::runtime_error("claim check " + reference.url + ": the blob is longer than the " +
                               std::to_string(reference.size) + " bytes the message names");
    if (status != 200) throw failed(reference, "read", status, received.body);
    if (received.body.size() != reference.size)
      throw std::runtime_error("claim check " + reference.url + ": the blob has " +
                               std::to_string(received.body.size()) + " bytes, the message names " +
                               std::to_string(reference.size));
    if (azure::hex(azure::sha256(received.body)) != reference.sha256)
      throw std::runtime_error("claim check " + reference.url +
                               ": the blob's SHA-256 differs from the message's; it was changed "
                               "after the message was sent");
    return std::move(received.body);
  }

  void remove(const format::ClaimCheck& reference) {
    check_account(reference);
    Received received;
    received.limit = 64 * 1024;
    long status = perform(azure::blob::delete_blob(account_, reference.url), received, reference);
    if (status != 202 && status != 404) throw failed(reference, "delete", status, received.body);
  }

 private:
  void check_account(const format::ClaimCheck& reference) const {
    if (!azure::blob::is_blob_of(account_, reference.url))
      throw std::runtime_error("claim check " + reference.url +
                               ": the blob is not in the storage account this reader was given (" +
                               account_.blob_endpoint +
                               "); give the reader that account's connection string");
  }

  long perform(const azure::blob::Request& request, Received& received,
               const format::ClaimCheck& reference) {
    std::lock_guard lock(mutex_);
    curl_easy_reset(easy_);  // keeps the connection cache: the next request reuses the connection
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers)
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(easy_, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "DELETE") curl_easy_setopt(easy_, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    if (!options_.ca_file.empty())
      curl_easy_setopt(easy_, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &received);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error);
    CURLcode code = curl_easy_perform(easy_);
    curl_slist_free_all(headers);
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && received.over))
      throw std::runtime_error("claim check " + reference.url + ": " +
                               (error[0] ? error : curl_easy_strerror(code)));
    return status;
  }

  static std::runtime_error failed(const format::ClaimCheck& reference, const char* what,
                                   long status, const std::string& body) {
    // The service names the reason in <Code>…</Code> (BlobNotFound, AuthenticationFailed, …).
    std::string reason;
    if (auto start = body.find("<Code>"); start != std::string::npos) {
      auto end = body.find("</Code>", start);
      if (end != std::string::npos) reason = " " + body.substr(start + 6, end - start - 6);
    }
    return std::runtime_error("claim check " + reference.url + ": cannot " + what +
                              " the blob: HTTP " + std::to_string(status) + reason);
  }

  azure::StorageConnectionString account_;
  BlobReaderOptions options_;
  std::mutex mutex_;
  CURL* easy_ = nullptr;
};

BlobReader::BlobReader(std::string_view connection, BlobReaderOptions options)
    : impl_(std::make_unique<Impl>(connection, std::move(options))) {}

BlobReader::~BlobReader() = default;

std::string BlobReader::fetch(const format::ClaimCheck& reference) {
  return impl_->fetch(reference);
}

void BlobReader::remove(const format::ClaimCheck& reference) {
  impl_->remove(reference);
}

}  // namespace stepline::claim_check
