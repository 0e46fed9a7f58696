// Reading claim-checked contexts from Azure Blob Storage, for listeners: the claim_check
// component of the SDK (link Stepline::sdk_claim_check; find_package(Stepline COMPONENTS
// claim_check)), on libcurl and OpenSSL, kept out of the SDK itself so that plug-ins need neither.
//
//   stepline::claim_check::BlobReader blobs(std::getenv("STEPLINE_CLAIM_CHECK_CONNECTION"));
//   auto context = stepline::format::parse_any_format(body, format, blobs);
//
// The reader authenticates with the storage connection string it is given (Shared Key or a SAS
// with read, and delete for remove()), and only for blobs of that account: a message cannot make
// it send its credential anywhere else.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <stepline/api.hpp>
#include <stepline/format/claim_check.hpp>

namespace stepline::claim_check {

struct BlobReaderOptions {
  std::string ca_file;  ///< PEM bundle instead of the system store, for https endpoints
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  ///< per request
  /// A reference naming a larger body is refused before anything is downloaded: the size comes
  /// from the message, and a forged one must not make the reader hold gigabytes.
  std::uint64_t max_size = 256 * 1024 * 1024;
};

class STEPLINE_API BlobReader final : public format::ClaimCheckSource {
 public:
  /// `connection` is an Azure Storage connection string (AccountKey or SharedAccessSignature,
  /// or UseDevelopmentStorage=true). Throws std::invalid_argument naming what is wrong with it,
  /// never a secret.
  explicit BlobReader(std::string_view connection, BlobReaderOptions options = {});
  ~BlobReader() override;
  BlobReader(const BlobReader&) = delete;
  BlobReader& operator=(const BlobReader&) = delete;

  /// The blob's bytes, after checking that they are exactly the reference's size and SHA-256.
  /// Throws std::runtime_error naming the blob when it is not in this account, is larger than
  /// BlobReaderOptions::max_size, cannot be read, or does not match. Thread-safe.
  std::string fetch(const format::ClaimCheck& reference) override;
  /// Deletes the blob (a listener does this after completing the message, when the reference
  /// says deleteAfterRead); a blob already gone is fine. Throws std::runtime_error otherwise.
  void remove(const format::ClaimCheck& reference);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepline::claim_check
