// SASL ANONYMOUS plus a $cbs put-token, as the Azure SDK clients authenticate, from Proton C++.
#include <doctest/doctest.h>

#include <proton/receiver_options.hpp>
#include <proton/source_options.hpp>
#include <proton/target_options.hpp>
#include <stepline/azure/cbs.hpp>
#include <stepline/azure/sas_token.hpp>

#include "amqp_client.hpp"
#include "broker_process.hpp"

using namespace stepline::broker::testing;
namespace cbs = stepline::azure::cbs;

namespace {

const char* cbs_config = R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: SAS_KEY_VALUE
    rights: [manage, send, listen]
queues:
  - name: orders
)";

// Puts a token on $cbs, then sends one message to `address` on the same connection.
class TokenSender : public proton::messaging_handler {
 public:
  TokenSender(std::string url, std::string token, std::string audience, std::string address)
      : url_(std::move(url)),
        token_(std::move(token)),
        audience_(std::move(audience)),
        address_(std::move(address)) {}
  int status = 0;
  std::string send_outcome;

  void on_container_start(proton::container& c) override {
    c.connect(url_, proton::connection_options()
                        .sasl_allowed_mechs("ANONYMOUS")
                        .user("RootManageSharedAccessKey"));
    watch(c);
  }
  void on_connection_open(proton::connection& c) override {
    cbs_sender_ = c.open_sender("$cbs");
    // like the JS client: the reply link is found by its name, its target is empty
    c.open_receiver("$cbs", proton::receiver_options().name("cbs-test-reply").credit_window(10));
  }
  void on_sendable(proton::sender& s) override {
    if (s == cbs_sender_ && !requested_) {
      requested_ = true;
      cbs::PutTokenRequest r;
      r.token = token_;
      r.audience = audience_;
      r.message_id = std::string("req-1");
      r.reply_to = "cbs-test-reply";
      s.send(r.to_message());
    } else if (s != cbs_sender_ && !sent_) {
      sent_ = true;
      proton::message m;
      m.body("with a token");
      s.send(m);
    }
  }
  void on_message(proton::delivery&, proton::message& m) override {
    auto response = cbs::PutTokenResponse::from_message(m);
    status = response.status_code;
    if (response.ok() && proton::get<std::string>(response.correlation_id) == "req-1") {
      m.body();
      cbs_sender_.connection().open_sender(address_);
    } else {
      finish();
    }
  }
  void on_tracker_accept(proton::tracker& t) override {
    if (t.sender() != cbs_sender_) {
      send_outcome = "accepted";
      finish();
    }
  }
  void on_transport_error(proton::transport&) override { done_ = true; }
  void on_sender_error(proton::sender& s) override {
    send_outcome = s.error().name();
    finish();
  }

 private:
  void watch(proton::container& c) {
    c.schedule(proton::duration(50), [this, &c] {
      if (done_ || ++ticks_ > 100) {
        if (cbs_sender_) cbs_sender_.connection().close();
        return c.stop();
      }
      watch(c);
    });
  }
  void finish() { done_ = true; }
  std::string url_, token_, audience_, address_;
  proton::sender cbs_sender_;
  bool requested_ = false, sent_ = false, done_ = false;
  int ticks_ = 0;
};

}  // namespace

TEST_CASE("an ANONYMOUS connection sends after putting a valid SAS token on $cbs") {
  BrokerProcess broker(cbs_config);
  std::string audience = "sb://localhost:" + std::to_string(broker.port()) + "/orders";
  std::string token =
      stepline::azure::create_sas_token(audience, "RootManageSharedAccessKey", "SAS_KEY_VALUE");
  TokenSender h(broker.url(), token, audience, "orders");
  proton::container(h).run();
  CHECK(h.status == 202);
  CHECK(h.send_outcome == "accepted");
  CHECK(receive(broker.url(), "orders", 1, Settle::accept,
                Login{"RootManageSharedAccessKey", "SAS_KEY_VALUE"})
            .messages.size() == 1);
}

TEST_CASE("a token signed with the wrong key gets 401 and no access") {
  BrokerProcess broker(cbs_config);
  std::string audience = "sb://localhost:" + std::to_string(broker.port()) + "/orders";
  std::string token =
      stepline::azure::create_sas_token(audience, "RootManageSharedAccessKey", "wrong");
  TokenSender h(broker.url(), token, audience, "orders");
  proton::container(h).run();
  CHECK(h.status == 401);
  CHECK(h.send_outcome == "");
}

TEST_CASE("a token for one queue does not open another") {
  BrokerProcess broker(cbs_config + std::string("  - name: payments\n"));
  std::string audience = "sb://localhost:" + std::to_string(broker.port()) + "/orders";
  std::string token =
      stepline::azure::create_sas_token(audience, "RootManageSharedAccessKey", "SAS_KEY_VALUE");
  TokenSender h(broker.url(), token, audience, "payments");
  proton::container(h).run();
  CHECK(h.status == 202);
  CHECK(h.send_outcome == "amqp:unauthorized-access");
}
