// Batch envelopes (message-format 0x80013700) unpacked from the raw bytes.
#include <doctest/doctest.h>

#include <proton/codec.h>
#include <proton/annotation_key.hpp>

#include "codec.hpp"

using namespace stepline::broker;

namespace {

std::string data_section(const std::string& payload) {
  pn_data_t* d = pn_data(4);
  pn_data_put_described(d);
  pn_data_enter(d);
  pn_data_put_ulong(d, 0x75);
  pn_data_put_binary(d, pn_bytes(payload.size(), payload.data()));
  pn_data_exit(d);
  std::string out(payload.size() + 64, '\0');
  ssize_t n = pn_data_encode(d, out.data(), out.size());
  pn_data_free(d);
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string encoded(const std::string& body) {
  proton::message m;
  m.body(body);
  return encode_message(m);
}

}  // namespace

TEST_CASE("an envelope of data sections holding messages unpacks into those messages, in order") {
  proton::message envelope_head;
  envelope_head.message_annotations().put(proton::symbol("x-opt-partition-key"), "k");
  std::string head = encode_message(envelope_head);  // annotations section only, no body
  std::string envelope = head + data_section(encoded("first")) + data_section(encoded("second"));
  auto members = batch_members(envelope);
  REQUIRE(members.size() == 2);
  proton::message m;
  decode_message(members[1], m);
  CHECK(proton::get<std::string>(m.body()) == "second");
}

TEST_CASE("an ordinary message is not a batch, even with a binary body") {
  CHECK(batch_members(encoded("plain")).empty());
  proton::message m;
  m.body(proton::binary(std::string("\x01\x02\x03")));
  CHECK(batch_members(encode_message(m)).empty());
}

TEST_CASE("delivery encoding always writes the delivery count, even zero") {
  proton::message m;
  m.body("x");
  std::string bytes = encode_for_delivery(m, 0);
  proton::message back;
  decode_message(bytes, back);
  CHECK(back.delivery_count() == 0);
  CHECK(bytes.find(std::string("\x43", 1)) != std::string::npos);  // uint0, not an omitted field
  decode_message(encode_for_delivery(m, 3), back);
  CHECK(back.delivery_count() == 3);
  CHECK(proton::get<std::string>(back.body()) == "x");
}
