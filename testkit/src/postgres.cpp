#include "testkit/postgres.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace stepline::test {
namespace fs = std::filesystem;
namespace {

/// Debian installs each major version's server under /usr/lib/postgresql/<major>/bin.
fs::path server_binaries() {
  for (const char* major : {"15", "16", "17", "14"}) {
    fs::path bin = fs::path("/usr/lib/postgresql") / major / "bin";
    if (fs::exists(bin / "initdb") && fs::exists(bin / "pg_ctl")) return bin;
  }
  throw std::runtime_error(
      "PostgreSQL's server is not installed (no /usr/lib/postgresql/15/bin/initdb): "
      "./dev setup --tests installs Debian's postgresql");
}

void chown_to(const fs::path& path, uid_t uid, gid_t gid) {
  if (::chown(path.c_str(), uid, gid) != 0)
    throw std::runtime_error("cannot give " + path.string() + " to the database's user");
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

PostgresServer::PostgresServer(bool fsync) : dir_("stepline-postgres-"), fsync_(fsync) {
  bin_ = server_binaries();
  data_ = dir_.path() / "data";
  uid_ = ::geteuid();
  gid_ = ::getegid();
  if (uid_ == 0) {
    // PostgreSQL will not run as root: Debian's package made a `postgres` user.
    const passwd* owner = ::getpwnam("postgres");
    if (!owner) owner = ::getpwnam("nobody");
    if (!owner)
      throw std::runtime_error("no unprivileged user (postgres, nobody) to run PostgreSQL");
    uid_ = owner->pw_uid;
    gid_ = owner->pw_gid;
    chown_to(dir_.path(), uid_, gid_);
  }
  const auto password_file = dir_.path() / "password";
  std::ofstream(password_file) << password << '\n';
  chown_to(password_file, uid_, gid_);
  const auto log = dir_.path() / "initdb.log";
  if (run_as_owner({(bin_ / "initdb").string(), "-D", data_.string(), "-U", user,
                    "--pwfile=" + password_file.string(), "--auth-host=scram-sha-256",
                    "--auth-local=trust", "-E", "UTF8", "--no-locale", "--no-sync"},
                   log) != 0)
    throw std::runtime_error("initdb failed:\n" + read_file(log));
  port_ = free_port();
  start();
}

PostgresServer::~PostgresServer() {
  try {
    stop();
  } catch (...) {
    // A server that would not stop is killed by the test run's end.
  }
}

int PostgresServer::run_as_owner(const std::vector<std::string>& argv, const fs::path& log) const {
  pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (::getuid() == 0 &&
        (::setgroups(0, nullptr) != 0 || ::setgid(gid_) != 0 || ::setuid(uid_) != 0))
      ::_exit(126);
    // The server's files and sockets live in the test's folder, which its user owns.
    if (::chdir(dir_.path().c_str()) != 0) ::_exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void PostgresServer::start() {
  if (pid_ > 0) return;
  const std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
                              dir_.path().string() + " -c max_connections=300" +
                              (fsync_ ? "" : " -c fsync=off -c full_page_writes=off");
  const auto log = dir_.path() / "server.log";
  if (run_as_owner({(bin_ / "pg_ctl").string(), "start", "-w", "-t", "60", "-D", data_.string(),
                    "-l", log.string(), "-o", options},
                   dir_.path() / "pg_ctl.log") != 0)
    throw std::runtime_error("pg_ctl start failed:\n" + read_file(dir_.path() / "pg_ctl.log") +
                             read_file(log));
  std::ifstream pid_file(data_ / "postmaster.pid");
  pid_file >> pid_;
  if (pid_ <= 0) throw std::runtime_error("no postmaster.pid after pg_ctl start");
}

void PostgresServer::stop() {
  if (pid_ <= 0) return;
  // SIGINT is PostgreSQL's fast shutdown: sessions are ended, everything committed is kept.
  ::kill(pid_, SIGINT);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool killed = false;
  while (::kill(pid_, 0) == 0 || errno != ESRCH) {
    if (!killed && std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);  // it did not stop in a minute: its sessions are gone anyway
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = 0;
}

std::string PostgresServer::url(const std::string& database,
                                const std::string& with_password) const {
  return "postgresql://" + std::string(user) + ":" + with_password +
         "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::sql(const std::string& database, const std::string& text) const {
  auto out = capture({"/usr/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                      url(database), "-c", text});
  if (out.status != 0) throw std::runtime_error("psql failed: " + out.output);
  while (!out.output.empty() && out.output.back() == '\n') out.output.pop_back();
  return out.output;
}

std::string PostgresServer::create_database(const std::string& name) {
  sql("postgres", "CREATE DATABASE " + name);
  return url(name);
}

std::string PostgresServer::log() const {
  return read_file(dir_.path() / "server.log");
}

PostgresServer& shared_postgres() {
  static PostgresServer server;
  return server;
}

std::string fresh_database(const std::string& prefix) {
  static std::atomic<int> next{0};
  return shared_postgres().create_database(prefix + "_" + std::to_string(::getpid()) + "_" +
                                           std::to_string(++next));
}

}  // namespace stepline::test
