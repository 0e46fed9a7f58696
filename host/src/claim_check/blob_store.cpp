#include "stepline/host/claim_check/blob_store.hpp"

#include <stepline/azure/blob_request.hpp>
#include <stepline/azure/digest.hpp>
#include <stepline/azure/storage_connection_string.hpp>
#include <stepline/host/log.hpp>

namespace stepline::host::claim_check {
namespace {

http_client::Request http_request(azure::blob::Request blob, std::string body,
                                  std::chrono::milliseconds timeout) {
  http_client::Request r;
  r.method = std::move(blob.method);
  r.url = std::move(blob.url);
  r.headers = std::move(blob.headers);
  r.body = std::move(body);
  r.timeout = timeout;
  return r;
}

// "HTTP 403 AuthenticationFailed", or the transport's failure.
std::string answer(const http_client::Response& response) {
  if (response.failure != http_client::Failure::none)
    return std::string(http_client::to_string(response.failure)) + ": " + response.error;
  std::string text = "HTTP " + std::to_string(response.status);
  if (const auto* code = response.header("x-ms-error-code")) text += " " + *code;
  return text;
}

}  // namespace

std::string blob_name(const registration::ServiceEndpoint& endpoint,
                      const ExecutionContext& context) {
  if (context.mode == Mode::asynchronous) return endpoint.name + "/" + context.operation_id.str();
  const Guid request = context.request_id.value_or(context.operation_id);
  return endpoint.name + "/" + request.str() + "-" + Guid::random().str();
}

BlobStore::BlobStore(http_client::Client& client) : client_(client) {}

Upload BlobStore::put(const registration::ClaimCheck& settings, std::string_view name,
                      std::string_view body, const format::Format& format,
                      std::chrono::milliseconds timeout) {
  Upload out;
  const azure::StorageConnectionString& account = settings.account;
  const std::string url = azure::blob::blob_url(account, settings.container, name);
  const std::string sha256 = azure::hex(azure::sha256(body));
  const std::string content_type(format.content_type);
  auto put = [&] {
    return client_.exchange(http_request(
        azure::blob::put_blob(
            account, settings.container, name, body, content_type,
            {{"stepline_sha256", sha256}, {"stepline_format", std::string(format.name)}}),
        std::string(body), timeout));
  };
  http_client::Response response = put();
  const std::string* code = response.header("x-ms-error-code");
  if (response.status == 404 && code && *code == "ContainerNotFound") {
    auto created = client_.exchange(
        http_request(azure::blob::create_container(account, settings.container), {}, timeout));
    // 409: someone else created it meanwhile.
    if (created.status != 201 && created.status != 409) {
      out.error = "cannot create the claim-check container " + account.blob_endpoint + "/" +
                  settings.container + ": " + answer(created);
      return out;
    }
    log::info("claim checks: created the container {}/{}", account.blob_endpoint,
              settings.container);
    response = put();
  }
  if (response.status != 201) {
    out.error = "cannot upload the claim-checked body to " + url + ": " + answer(response);
    return out;
  }
  format::ClaimCheck reference;
  reference.url = url;
  reference.size = body.size();
  reference.content_type = content_type;
  reference.format = format.name;
  reference.sha256 = sha256;
  out.reference = std::move(reference);
  return out;
}

void BlobStore::remove(const registration::ClaimCheck& settings,
                       const format::ClaimCheck& reference) {
  client_.send(http_request(azure::blob::delete_blob(settings.account, reference.url), {},
                            std::chrono::seconds(30)),
               [url = reference.url](http_client::Response response) {
                 if (response.status == 202 || response.status == 404) return;
                 log::warn(
                     "claim checks: could not delete {} after its delivery ({}); it stays "
                     "until a lifecycle rule removes it",
                     url, answer(response));
               });
}

}  // namespace stepline::host::claim_check
