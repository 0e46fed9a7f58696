#include "testkit/azurite.hpp"

#include <filesystem>
#include <stdexcept>
#include <thread>

#include <sys/wait.h>

#include <stepline/azure/storage_connection_string.hpp>

namespace stepline::test {

std::string azurite_npm_folder() {
  return std::string(STEPLINE_SOURCE_DIR) + "/testkit/azurite";
}

Azurite::Azurite() : dir_("stepline-azurite-") {
  port_ = free_port();
  std::filesystem::create_directories(dir_.path() / "data");
  start();
}

Azurite::~Azurite() {
  stop();
}

std::string Azurite::connection_string() const {
  return "DefaultEndpointsProtocol=http;AccountName=" +
         std::string(azure::development_storage_account) +
         ";AccountKey=" + std::string(azure::development_storage_key) +
         ";BlobEndpoint=http://127.0.0.1:" + std::to_string(port_) + "/" +
         std::string(azure::development_storage_account);
}

std::string Azurite::log() const {
  return tail(dir_.path() / "azurite.log");
}

void Azurite::start() {
  if (pid_ > 0) return;
  pid_ = spawn({"node", azurite_npm_folder() + "/node_modules/azurite/dist/src/blob/main.js",
                "--blobHost", "127.0.0.1", "--blobPort", std::to_string(port_), "--location",
                (dir_.path() / "data").string(), "--silent", "--skipApiVersionCheck", "--loose",
                "--disableTelemetry"},
               {}, dir_.path() / "azurite.log");
  // Azurite loads its metadata store before it listens: a few seconds on a busy machine.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!port_open(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("Azurite exited at start:\n" + log());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("Azurite did not listen within 60 s:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void Azurite::stop() {
  if (pid_ <= 0) return;
  terminate(pid_, std::chrono::seconds(10));
  pid_ = -1;
}

std::string Azurite::read_with_sdk(const std::string& url) const {
  const auto out = dir_.path() / "read_blob.out";
  std::filesystem::remove(out);
  int status = run({"node", azurite_npm_folder() + "/read_blob.mjs", url},
                   {{"STEPLINE_CLAIM_CHECK_CONNECTION", connection_string()}}, out);
  std::string text = tail(out, 1 << 20);
  if (status != 0) throw std::runtime_error("read_blob.mjs failed:\n" + text);
  return text;
}

}  // namespace stepline::test
