#include "library_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace stepline::host::catalog {
namespace {

std::string sha256_of(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot be read", file.string()));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL cannot compute SHA-256");
  }
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    EVP_DigestUpdate(ctx.get(), buffer, static_cast<std::size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace

FileIdentity identify(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    throw std::runtime_error(fmt::format("{}: {}", file.string(), std::strerror(errno)));
  }
  FileIdentity id;
  id.size = static_cast<std::uint64_t>(st.st_size);
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  id.sha256 = sha256_of(file);
  return id;
}

std::optional<std::string> writable_by_others(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & S_IWOTH)) {
    return fmt::format(
        "{}: refused because the library is writable by every user (mode {:04o}, "
        "expected no write bit for others); run `chmod o-w {}`",
        file.string(), st.st_mode & 07777, file.string());
  }
  const auto folder = file.parent_path();
  if (::stat(folder.c_str(), &st) == 0 && (st.st_mode & S_IWOTH)) {
    return fmt::format(
        "{}: refused because its folder {} is writable by every user (mode {:04o}, "
        "expected no write bit for others); run `chmod o-w {}`",
        file.string(), folder.string(), st.st_mode & 07777, folder.string());
  }
  return std::nullopt;
}

}  // namespace stepline::host::catalog
