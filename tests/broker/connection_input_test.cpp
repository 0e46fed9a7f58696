// The broker's frame input driven from bytes, without sockets (Broker::drive_connection): what
// a well-behaved client sends is answered, and hostile input is refused without being held.
#include <doctest/doctest.h>

#include <malloc.h>

#include <optional>

#include <proton/connection.h>
#include <proton/connection_driver.h>
#include <proton/link.h>
#include <proton/session.h>
#include <proton/terminus.h>

#include "broker.hpp"

using namespace stepline::broker;

namespace {

const char* input_config = R"(
sas_policies:
  - name: RootManageSharedAccessKey
    key: test-key
    rights: [manage, send, listen]
queues:
  - name: orders
)";

const std::string plain_header("AMQP\0\1\0\0", 8);
const std::string sasl_layer_header("AMQP\3\1\0\0", 8);

// What a Proton client writes before it hears from the broker: header, open, begin and the
// attaches of a $cbs sender and receiver (no SASL layer, as SAS-signature clients connect).
std::string client_opening() {
  pn_connection_driver_t client;
  pn_connection_driver_init(&client, pn_connection(), pn_transport());
  pn_connection_t* c = client.connection;
  pn_connection_set_container(c, "test-client");
  pn_connection_set_hostname(c, "localhost");
  pn_connection_open(c);
  pn_session_t* s = pn_session(c);
  pn_session_open(s);
  pn_link_t* out = pn_sender(s, "cbs-sender");
  pn_terminus_set_address(pn_link_target(out), "$cbs");
  pn_link_open(out);
  pn_link_t* in = pn_receiver(s, "cbs-receiver");
  pn_terminus_set_address(pn_link_source(in), "$cbs");
  pn_link_open(in);
  pn_link_flow(in, 10);
  std::string bytes;
  while (pn_connection_driver_next_event(&client)) {
  }
  for (pn_bytes_t w; (w = pn_connection_driver_write_buffer(&client)).size;) {
    bytes.append(w.start, w.size);
    pn_connection_driver_write_done(&client, w.size);
  }
  pn_connection_driver_destroy(&client);
  return bytes;
}

}  // namespace

TEST_CASE("a client's opening frames fed as bytes are answered") {
  Broker broker(parse_config(input_config, "broker.yaml"));
  std::string opening = client_opening();
  REQUIRE(opening.rfind(plain_header, 0) == 0);
  for (size_t chunk : {size_t(1), size_t(7), size_t(4096)}) {
    CAPTURE(chunk);
    auto out = broker.drive_connection(opening, chunk);
    CHECK(out.taken == opening.size());
    CHECK(!out.closed_by_broker);
    CHECK(out.output.rfind(plain_header, 0) == 0);
    CHECK(out.output.find("stepline-broker") != std::string::npos);  // its open frame
    CHECK(out.output.find("cbs-receiver") != std::string::npos);     // its attach
  }
  CHECK(broker.admission().unauthenticated() == 0);  // every driven connection was forgotten
}

TEST_CASE("hostile input fed as bytes is refused without being held") {
  Broker broker(parse_config(input_config, "broker.yaml"));
  std::string zeros(1 << 20, '\0');
  std::string endless("\xff\xff\xff\xff\x02\x00\x00\x00", 8);

  SUBCASE("an endless frame after the AMQP header") {
    auto out = broker.drive_connection(plain_header + endless + zeros);
    CHECK(out.closed_by_broker);
    CHECK(out.taken < 64 * 1024);
    CHECK(out.output.find("amqp:connection:framing-error") != std::string::npos);
  }
  SUBCASE("an endless frame after the SASL header") {
    auto out = broker.drive_connection(sasl_layer_header + endless + zeros);
    CHECK(out.closed_by_broker);
    CHECK(out.taken < 64 * 1024);
  }
  SUBCASE("garbage after the protocol header") {
    std::string garbage = std::string("\x00\x00\x00\x10\x02\x00\x00\x00", 8) + "garbage!";
    auto out = broker.drive_connection(plain_header + garbage + zeros);
    CHECK(out.closed_by_broker);
    CHECK(out.taken < 64 * 1024);
    CHECK(out.output.find("amqp:connection:framing-error") != std::string::npos);
  }
  SUBCASE("a frame larger than max_frame_size after open") {
    std::string opening = client_opening();
    std::string big("\x00\x02\x00\x00\x02\x00\x00\x00", 8);  // 128 KiB claimed
    auto out = broker.drive_connection(opening + big + zeros);
    CHECK(out.closed_by_broker);
    CHECK(out.taken < opening.size() + 256 * 1024);
    CHECK(out.output.find("amqp:connection:framing-error") != std::string::npos);
  }
  SUBCASE("not AMQP at all") {
    auto out = broker.drive_connection("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + zeros);
    CHECK(out.closed_by_broker);
    CHECK(out.taken < 64 * 1024);
  }
  CHECK(broker.admission().unauthenticated() == 0);
  CHECK(broker.counters().connections_closed_protocol_error >= 1);
}

namespace {

std::string be32(uint32_t v) {
  return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

// A sasl-init frame of `mechanism` (a symbol, or null when absent) with an empty response.
std::string sasl_init(const std::optional<std::string>& mechanism) {
  std::string fields = mechanism ? "\xb3" + be32(uint32_t(mechanism->size())) + *mechanism  // sym32
                                 : std::string("\x40");                                     // null
  fields += std::string("\xa0\x00", 2);  // vbin8, empty
  std::string list = "\xd0" + be32(uint32_t(fields.size() + 4)) + be32(2) + fields;
  std::string body = std::string("\x00\x53\x41", 3) + list;  // described by sasl-init's code
  return be32(uint32_t(8 + body.size())) + std::string("\x02\x01\x00\x00", 4) + body;
}

}  // namespace

TEST_CASE("repeated sasl-init frames, after the SASL exchange too, leave nothing behind") {
  // Proton copies each sasl-init's mechanism and forgets the copy of the one before: a peer
  // could leak the mechanism's size per frame, for as long as it kept sending.
  Broker broker(parse_config(input_config, "broker.yaml"));
  std::string input = sasl_layer_header + sasl_init("ANONYMOUS") + plain_header;
  for (int i = 0; i < 100000; ++i) input += sasl_init("ANONYMOUS");
  auto before = mallinfo2().uordblks;
  auto out = broker.drive_connection(input);
  auto after = mallinfo2().uordblks;
  CHECK(out.taken == input.size());    // every frame was read
  CHECK(after < before + 512 * 1024);  // 100,000 names of 10 bytes leaked took 3 MB
  CHECK(broker.admission().unauthenticated() == 0);
}

TEST_CASE("a sasl-init of a mechanism the broker does not offer, or of none, fails and closes") {
  Broker broker(parse_config(input_config, "broker.yaml"));
  for (std::optional<std::string> mechanism :
       {std::optional<std::string>(std::string(7000, 'Y')), std::optional<std::string>()}) {
    CAPTURE(mechanism.has_value());
    std::string input = sasl_layer_header;
    for (int i = 0; i < 1000; ++i) input += sasl_init(mechanism);
    auto out = broker.drive_connection(input);
    CHECK(out.closed_by_broker);
    CHECK(out.taken < 64 * 1024);
  }
  CHECK(broker.admission().unauthenticated() == 0);
}
