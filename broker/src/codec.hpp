// Message bytes: encoding and decoding proton messages, the raw bytes of the delivery being
// handled, and unpacking Azure batch envelopes (message-format 0x80013700).
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

/// The encoded bytes of the message Proton decoded last on this thread: inside on_message, the
/// delivery's complete payload. Proton 0.37 gives a C++ handler neither the payload nor the
/// message-format, and its decoder keeps only the last data section, so raw_delivery.cpp
/// captures the bytes as they are decoded.
std::string_view last_decoded_bytes();

/// When `bytes` is a batch envelope (a message whose body is data sections that each hold one
/// complete encoded message), returns those messages; otherwise an empty vector.
std::vector<std::string_view> batch_members(std::string_view bytes);

}  // namespace stepline::broker
