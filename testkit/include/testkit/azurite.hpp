// Azurite, Microsoft's Azure Storage emulator (npm, testkit/azurite's lockfile), as a child
// process: its Blob service on a free 127.0.0.1 port with a temporary folder, telemetry off,
// stopped by its pid. stop() and start() keep the port and the folder, to test what happens while
// it is down. read_with_sdk() reads a blob back with the official @azure/storage-blob client.
#pragma once

#include <sys/types.h>

#include <string>

#include "testkit/process.hpp"

namespace stepline::test {

class Azurite {
 public:
  /// Starts it; throws std::runtime_error with the log's tail when it does not listen in 60 s.
  Azurite();
  ~Azurite();
  Azurite(const Azurite&) = delete;
  Azurite& operator=(const Azurite&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  /// The development account's connection string with this instance's Blob endpoint.
  std::string connection_string() const;
  std::string log() const;

  void stop();
  void start();

  /// Runs testkit/azurite/read_blob.mjs: the blob at `url` read with @azure/storage-blob, as
  /// JSON {size, sha256, contentType, contentMD5, md5, metadata}. Throws when it fails.
  std::string read_with_sdk(const std::string& url) const;

 private:
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

/// testkit/azurite: the npm folder with azurite and @azure/storage-blob.
std::string azurite_npm_folder();

}  // namespace stepline::test
