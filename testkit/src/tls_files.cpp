#include "testkit/tls_files.hpp"

#include <fstream>
#include <stdexcept>

#include "testkit/process.hpp"

namespace stepline::test {

TlsFiles make_tls_files(const std::filesystem::path& dir) {
  auto path = [&](const char* name) { return (dir / name).string(); };
  auto log = dir / "openssl.log";
  auto openssl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    if (run(args, {}, log) != 0) throw std::runtime_error("openssl failed:\n" + tail(log));
  };
  std::ofstream(path("server.ext")) << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                    << "extendedKeyUsage=serverAuth\n";
  openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
           "/CN=Stepline Test CA", "-keyout", path("ca.key"), "-out", path("ca.pem")});
  openssl({"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout",
           path("server.key"), "-out", path("server.csr")});
  openssl({"x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey",
           path("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", path("server.ext"), "-out",
           path("server.pem")});
  return {path("ca.pem"), path("server.pem"), path("server.key")};
}

}  // namespace stepline::test
