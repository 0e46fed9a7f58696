// A Proton C++ publisher for the broker benchmark: sends N messages of S bytes, every one
// unsettled, and counts the broker's accepted outcomes. Prints one line:
//   sent=<n> accepted=<n> seconds=<s> rate=<msg/s>
#include <chrono>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/sender.hpp>
#include <proton/tracker.hpp>

namespace {

class Publisher : public proton::messaging_handler {
 public:
  Publisher(std::string url, std::string address, int count, size_t size, std::string user,
            std::string password, bool declare, bool ids, bool claims)
      : url_(std::move(url)),
        address_(std::move(address)),
        count_(count),
        user_(std::move(user)),
        password_(std::move(password)),
        declare_(declare),
        ids_(ids) {
    message_.body(proton::binary(std::string(size, 'x')));
    message_.durable(true);
    if (claims) {
      // The application properties a Dataverse post carries (docs/ENDPOINTS.md).
      const std::string claim = "http://schemas.microsoft.com/xrm/2011/Claims/";
      auto& p = message_.properties();
      p.put(claim + "Organization", "org.example.com");
      p.put(claim + "User", "9c2a1b44-0f4e-4e2a-9d0c-1f2e3d4c5b6a");
      p.put(claim + "InitiatingUser", "9c2a1b44-0f4e-4e2a-9d0c-1f2e3d4c5b6a");
      p.put(claim + "EntityLogicalName", "account");
      p.put(claim + "RequestName", "Update");
      p.put(claim + "InitiatingUserAgent", "stepline");
    }
  }

  void on_container_start(proton::container& c) override {
    proton::connection_options o;
    o.sasl_allow_insecure_mechs(true).sasl_allowed_mechs("PLAIN").user(user_).password(password_);
    c.connect(url_, o);
  }
  void on_connection_open(proton::connection& c) override {
    // RabbitMQ drops messages sent to a queue that does not exist; attaching a receiver to
    // /queue/<name> declares it.
    if (declare_)
      c.open_receiver(address_);
    else
      open_sender(c);
  }
  void on_receiver_open(proton::receiver& r) override {
    r.close();
    open_sender(r.connection());
  }
  void on_sendable(proton::sender& s) override {
    if (sent_ == 0) start_ = std::chrono::steady_clock::now();
    while (s.credit() > 0 && sent_ < count_) {
      if (ids_) message_.id(proton::message_id("message-" + std::to_string(sent_)));
      s.send(message_);
      ++sent_;
    }
  }
  void on_tracker_accept(proton::tracker& t) override {
    if (++accepted_ + rejected_ == count_) finish(t.connection());
  }
  void on_tracker_reject(proton::tracker& t) override {
    if (accepted_ + ++rejected_ == count_) finish(t.connection());
  }
  void on_tracker_release(proton::tracker& t) override { on_tracker_reject(t); }

  int sent_ = 0, accepted_ = 0, rejected_ = 0;
  double seconds_ = 0;

 private:
  void open_sender(proton::connection c) { c.open_sender(address_); }
  void finish(proton::connection c) {
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    c.close();
  }
  std::string url_, address_;
  int count_;
  std::string user_, password_;
  bool declare_, ids_;
  proton::message message_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_broker_sender: acknowledged publish rate"};
  std::string url, address, user, password;
  int count = 100000;
  size_t size = 1024;
  bool declare = false;
  app.add_option("--url", url, "host:port")->required();
  app.add_option("--address", address, "target address")->required();
  app.add_option("--count", count, "messages to send");
  app.add_option("--size", size, "body bytes per message");
  app.add_option("--user", user, "SASL PLAIN user")->required();
  app.add_option("--password", password, "SASL PLAIN password")->required();
  bool ids = false, claims = false;
  app.add_flag("--declare", declare, "attach a receiver first so the queue exists (RabbitMQ)");
  app.add_flag("--message-ids", ids, "give each message its own string message-id");
  app.add_flag("--claims", claims, "add the application properties of a Dataverse post");
  CLI11_PARSE(app, argc, argv);
  Publisher p(url, address, count, size, user, password, declare, ids, claims);
  try {
    proton::container(p).run();
  } catch (const std::exception& e) {
    std::cerr << "bench_broker_sender: " << e.what() << "\n";
    return 1;
  }
  std::cout << "sent=" << p.sent_ << " accepted=" << p.accepted_ << " seconds=" << p.seconds_
            << " rate=" << static_cast<long>(p.accepted_ / (p.seconds_ > 0 ? p.seconds_ : 1))
            << "\n";
  return p.accepted_ == count ? 0 : 1;
}
