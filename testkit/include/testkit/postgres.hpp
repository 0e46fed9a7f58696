// A PostgreSQL 15 server of the test's own, from Debian's packages: initdb and pg_ctl in a
// temporary folder, listening on 127.0.0.1 and a free port only, with password authentication
// over TCP, run as an unprivileged user when the test runs as root (PostgreSQL refuses root, and
// CI runs as root), and stopped by its process id. Each test takes a database of its own.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "testkit/process.hpp"

namespace stepline::test {

class PostgresServer {
 public:
  /// The superuser the server is made with, and its password.
  static constexpr const char* user = "stepline";
  static constexpr const char* password = "stepline-test-password";

  /// initdb, then start(). Throws std::runtime_error, with initdb's or the server's log, when
  /// either fails (the binaries missing included: ./dev setup --tests installs them). Tests run
  /// it without fsync (nothing they check survives only by it); a benchmark asks for `fsync`, as
  /// a database in service runs.
  explicit PostgresServer(bool fsync = false);
  /// stop().
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  /// Starts the server on the same port and data (pg_ctl start, waiting until it accepts).
  void start();
  /// A fast shutdown: SIGINT to the server's process id, then waits until it is gone.
  void stop();
  bool running() const { return pid_ > 0; }

  /// A new, empty database; returns its URL.
  std::string create_database(const std::string& name);
  /// The URL of `database`, with `password` (the right one unless a test wants a wrong one).
  std::string url(const std::string& database, const std::string& with_password = password) const;
  /// Runs `sql` with psql in `database`; returns what it printed (unaligned, tuples only).
  /// Throws std::runtime_error with psql's output when it fails.
  std::string sql(const std::string& database, const std::string& sql) const;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;

 private:
  /// Runs `argv` as the server's user; returns its exit status.
  int run_as_owner(const std::vector<std::string>& argv, const std::filesystem::path& log) const;

  TempDir dir_;
  std::filesystem::path bin_;
  std::filesystem::path data_;
  int port_ = 0;
  bool fsync_ = false;
  pid_t pid_ = 0;
  uid_t uid_ = 0;  ///< the server's user
  gid_t gid_ = 0;
};

/// The server of this test program, started when first asked for; stopped when it exits.
PostgresServer& shared_postgres();
/// A fresh database on the shared server, named after `prefix` and a counter; its URL.
std::string fresh_database(const std::string& prefix = "t");

}  // namespace stepline::test
