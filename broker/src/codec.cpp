#include "codec.hpp"
#include "sections.hpp"

#include <algorithm>

#include <proton/codec.h>

namespace stepline::broker {

std::string encode_message(const proton::message& m) {
  std::vector<char> buf;
  m.encode(buf);
  return std::string(buf.begin(), buf.end());
}

void decode_message(std::string_view bytes, proton::message& m) {
  m.decode(std::vector<char>(bytes.begin(), bytes.end()));
}

std::string encode_for_delivery(const proton::message& m, uint32_t delivery_count) {
  std::string body = encode_message(m);
  // drop Proton's header section, if any
  if (body.size() >= 3 && body[0] == 0x00 && body[1] == 0x53 && body[2] == 0x70) {
    pn_data_t* d = pn_data(8);
    ssize_t used = pn_data_decode(d, body.data(), body.size());
    pn_data_free(d);
    if (used > 0) body.erase(0, static_cast<size_t>(used));
  }
  pn_data_t* h = pn_data(8);
  pn_data_put_described(h);
  pn_data_enter(h);
  pn_data_put_ulong(h, 0x70);
  pn_data_put_list(h);
  pn_data_enter(h);
  pn_data_put_bool(h, m.durable());
  pn_data_put_ubyte(h, m.priority());
  if (m.ttl().milliseconds() > 0)
    pn_data_put_uint(h, static_cast<uint32_t>(m.ttl().milliseconds()));
  else
    pn_data_put_null(h);
  pn_data_put_bool(h, m.first_acquirer());
  pn_data_put_uint(h, delivery_count);
  pn_data_exit(h);
  pn_data_exit(h);
  char buf[64];
  ssize_t n = pn_data_encode(h, buf, sizeof(buf));
  pn_data_free(h);
  return std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))) + body;
}

std::vector<std::string_view> batch_members(std::string_view bytes) {
  std::vector<std::string_view> members;
  pn_data_t* data = pn_data(16);
  size_t pos = 0;
  bool ok = true;
  while (pos < bytes.size()) {
    pn_data_clear(data);
    ssize_t used = pn_data_decode(data, bytes.data() + pos, bytes.size() - pos);
    if (used <= 0) {
      ok = false;
      break;
    }
    pn_data_rewind(data);
    if (pn_data_next(data) && pn_data_type(data) == PN_DESCRIBED) {
      pn_data_enter(data);
      pn_data_next(data);
      uint64_t descriptor = pn_data_type(data) == PN_ULONG ? pn_data_get_ulong(data) : 0;
      if (descriptor == 0x75) {  // data section
        pn_data_next(data);
        pn_bytes_t b = pn_data_get_binary(data);
        std::string_view member(b.start, b.size);
        if (!looks_like_message(member)) {
          ok = false;
          break;
        }
        // the binary payload ends the section: point into `bytes`, not into pn_data's copy
        members.push_back(bytes.substr(pos + used - member.size(), member.size()));
      } else if (descriptor == 0x76 || descriptor == 0x77) {  // amqp-sequence / amqp-value body
        ok = false;
        break;
      }
    }
    pos += used;
  }
  pn_data_free(data);
  if (!ok) members.clear();
  return members;
}

}  // namespace stepline::broker
