// The host's side of claim checks: a context body over an endpoint's limit is uploaded to Azure
// Blob Storage (Put Blob, Shared Key or SAS) under a name made from the endpoint and the
// operation, so a system job's retry overwrites its own blob instead of leaving another; the
// post then carries the small reference the SDK reads (stepline/format/claim_check.hpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <stepline/execution_context.hpp>
#include <stepline/format/claim_check.hpp>
#include <stepline/host/http_client/client.hpp>
#include <stepline/registration/model.hpp>

namespace stepline::host::claim_check {

/// What an upload gave: the reference to post, or why there is none (a passing failure: the
/// job waits and tries again).
struct Upload {
  std::optional<format::ClaimCheck> reference;
  std::string error;  ///< names the blob's URL and the service's answer; never a secret
};

/// "<endpoint>/<job id>" for an asynchronous context (its OperationId is the system job's id,
/// the same on every attempt); "<endpoint>/<request id>-<random>" for a synchronous one, which
/// is never retried and may be posted more than once by one operation.
std::string blob_name(const registration::ServiceEndpoint& endpoint,
                      const ExecutionContext& context);

class BlobStore {
 public:
  /// Uploads through `client`, which must outlive the store.
  explicit BlobStore(http_client::Client& client);

  /// Uploads `body` as the blob `name` of the endpoint's container, replacing one of that name,
  /// and waits for the answer (up to `timeout`). Creates the container when the service says it
  /// does not exist. Never throws for a failed upload.
  Upload put(const registration::ClaimCheck& settings, std::string_view name, std::string_view body,
             const format::Format& format, std::chrono::milliseconds timeout);
  /// Deletes the blob of `reference` without waiting; a failure is logged (the blob then stays
  /// until a lifecycle rule removes it).
  void remove(const registration::ClaimCheck& settings, const format::ClaimCheck& reference);

 private:
  http_client::Client& client_;
};

}  // namespace stepline::host::claim_check
