// The digests and encodings Azure's signatures and Stepline's claim checks are made of, on
// OpenSSL: SHA-256, MD5 (the Content-MD5 Blob Storage verifies), HMAC-SHA256, base64 and hex.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace stepline::azure {

/// The 32 bytes of SHA-256(bytes).
std::string sha256(std::string_view bytes);
/// The 16 bytes of MD5(bytes); only for integrity checks the service asks for, never security.
std::string md5(std::string_view bytes);
/// The 32 bytes of HMAC-SHA256(key, message).
std::string hmac_sha256(std::string_view key, std::string_view message);
/// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);
/// The bytes of standard base64 text (padding required); nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view text);
/// Lower-case hexadecimal.
std::string hex(std::string_view bytes);

}  // namespace stepline::azure
