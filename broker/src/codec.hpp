// Message bytes: encoding and decoding proton messages, and unpacking Azure batch envelopes
// (message-format 0x80013700) from a delivery's raw bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <proton/message.hpp>

namespace stepline::broker {

std::string encode_message(const proton::message& m);
void decode_message(std::string_view bytes, proton::message& m);

/// Encodes `m` for delivery with a header that always carries delivery-count, even 0: Proton
/// leaves default values out, and the JS SDK then reports no delivery count at all.
std::string encode_for_delivery(const proton::message& m, uint32_t delivery_count);

/// When `bytes` is a batch envelope (a message whose body is data sections that each hold one
/// complete encoded message), returns those messages; otherwise an empty vector.
std::vector<std::string_view> batch_members(std::string_view bytes);

}  // namespace stepline::broker
