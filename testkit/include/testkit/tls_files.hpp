// Throw-away TLS material made with the openssl command line: a CA, and a server certificate it
// signed for localhost and 127.0.0.1.
#pragma once

#include <filesystem>
#include <string>

namespace stepline::test {

struct TlsFiles {
  std::string ca_cert;      ///< PEM, the trust store a client needs
  std::string server_cert;  ///< PEM, CN/SAN localhost and 127.0.0.1
  std::string server_key;   ///< PEM, unencrypted
};

/// Writes the files into `dir`; throws std::runtime_error when openssl fails.
TlsFiles make_tls_files(const std::filesystem::path& dir);

}  // namespace stepline::test
