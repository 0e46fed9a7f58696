// A request line as `stepline exec`, `stepline run` and `stepline serve` read it: it becomes an
// OperationRequest or a RequestError; nothing else escapes and nothing crashes.
#include <cstdint>
#include <string_view>

#include <stepline/host/intake/request.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    stepline::host::intake::parse_request(
        std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const stepline::host::intake::RequestError&) {
  }
  return 0;
}
