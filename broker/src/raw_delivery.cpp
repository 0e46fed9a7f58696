// Captures the bytes of every message Proton decodes (see codec.hpp for why). The executable
// exports pn_message_decode so libqpid-proton-cpp binds to this definition; it forwards to the
// real one.
#include <dlfcn.h>

#include <string>
#include <string_view>

#include <proton/message.h>

#include "codec.hpp"

namespace {
thread_local std::string captured;

using decode_fn = int (*)(pn_message_t*, const char*, size_t);

decode_fn real_decode() {
  static decode_fn fn = reinterpret_cast<decode_fn>(dlsym(RTLD_NEXT, "pn_message_decode"));
  return fn;
}
}  // namespace

extern "C" int pn_message_decode(pn_message_t* msg, const char* bytes, size_t size) {
  captured.assign(bytes, size);
  return real_decode()(msg, bytes, size);
}

namespace stepline::broker {
std::string_view last_decoded_bytes() {
  return captured;
}
}  // namespace stepline::broker
