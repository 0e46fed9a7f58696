// Fault test: the broker's data_dir on a full disk (a small tmpfs the test mounts). While the
// disk is full, publishes are refused with com.microsoft:server-busy (transient for the Azure
// SDKs and the host), never accepted and then lost; the broker stays up and logs the condition
// once per interval; once space is freed, publishing works again and every message accepted
// before, during and after is still there after a restart.
// Mounting needs root. Not as root, the test says why and exits 77, which CTest reports as
// skipped; as root (CI, ./dev test) a failed mount fails the test.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "amqp_client.hpp"
#include "broker_process.hpp"

using namespace stepline::broker::testing;
using namespace std::chrono_literals;

namespace {

constexpr int skip_code = 77;
const Login owner{"RootManageSharedAccessKey", "test-key"};

class Tmpfs {
 public:
  explicit Tmpfs(const std::string& size) {
    char templ[] = "/tmp/stepline-full-disk-XXXXXX";
    if (!::mkdtemp(templ)) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
    std::string options = "size=" + size + ",mode=0755";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      std::string why = std::strerror(errno);
      ::rmdir(path_.c_str());
      if (::geteuid() != 0) {
        std::printf("SKIPPED: cannot mount a tmpfs at %s (%s): this test needs root\n",
                    path_.c_str(), why.c_str());
        std::fflush(stdout);
        std::_Exit(skip_code);
      }
      throw std::runtime_error("running as root, yet cannot mount a tmpfs at " + path_ + ": " +
                               why);
    }
  }
  ~Tmpfs() {
    ::umount2(path_.c_str(), MNT_DETACH);
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes `file` until the file system is full; returns the bytes written.
size_t fill(const std::string& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  std::string chunk(64 * 1024, 'x');
  size_t written = 0;
  for (size_t size = chunk.size(); size > 0;) {
    ssize_t n = ::write(fd, chunk.data(), size);
    if (n > 0)
      written += static_cast<size_t>(n);
    else
      size /= 2;  // the last pages
  }
  ::close(fd);
  return written;
}

std::vector<proton::message> messages(const std::string& prefix, int count, size_t size) {
  std::vector<proton::message> out;
  for (int i = 0; i < count; ++i) {
    proton::message m;
    std::string body = prefix + "-" + std::to_string(i) + "-";
    body.resize(size, '.');
    m.body(body);
    out.push_back(m);
  }
  return out;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; ++at) ++n;
  return n;
}

}  // namespace

TEST_CASE("a full data_dir refuses publishes as server-busy, loses nothing, and recovers") {
  Tmpfs disk("8m");
  std::string data_dir = disk.path() + "/data";
  BrokerProcess broker(R"(
data_dir: )" + data_dir +
                       R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-key
    rights: [manage, send, listen]
queues:
  - name: orders
)");
  std::set<std::string> accepted;
  auto publish = [&](const std::vector<proton::message>& batch) {
    SendResult r;
    for (const auto& m : batch) {
      SendResult one = send(broker.url(), "orders", {m}, owner);
      if (one.accepted == 1) accepted.insert(proton::get<std::string>(m.body()).substr(0, 12));
      r.accepted += one.accepted;
      r.rejected.insert(r.rejected.end(), one.rejected.begin(), one.rejected.end());
    }
    return r;
  };

  SendResult before = publish(messages("before", 10, 1024));
  REQUIRE(before.accepted == 10);

  fill(disk.path() + "/filler");
  // Messages larger than what the database's files have room for: writing them needs new pages.
  SendResult during = publish(messages("during", 20, 100 * 1024));
  CHECK(during.rejected.size() > 0);
  CHECK(during.accepted + during.rejected.size() == 20);
  for (const auto& condition : during.rejected) CHECK(condition == "com.microsoft:server-busy");
  CHECK(::kill(broker.pid(), 0) == 0);
  // Once per interval, not once per message.
  std::string log = broker.log();
  CHECK(count_of(log, "publishers are refused") >= 1);
  CHECK(count_of(log, "publishers are refused") <= 2);

  std::filesystem::remove(disk.path() + "/filler");
  auto until = std::chrono::steady_clock::now() + 30s;
  int after = 0;
  for (int i = 0; after < 5 && std::chrono::steady_clock::now() < until; ++i) {
    after += publish(messages("after" + std::to_string(i), 1, 1024)).accepted;
    if (after == 0) std::this_thread::sleep_for(200ms);
  }
  CHECK(after == 5);
  CHECK(broker.log().find("the store accepts writes again") != std::string::npos);

  // Everything accepted is on disk: a restarted broker serves it.
  CHECK(broker.stop() == 0);
  broker.start();
  ReceiveResult got = receive(broker.url(), "orders", 1000, Settle::accept, owner, true, 1500);
  std::set<std::string> served;
  for (const auto& m : got.messages)
    served.insert(proton::get<std::string>(m.body()).substr(0, 12));
  for (const auto& id : accepted) {
    CAPTURE(id);
    CHECK(served.count(id) == 1);
  }
}
