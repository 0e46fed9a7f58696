// The body of a claim-checked message, as a listener receives it: read_claim_check() takes it
// for a reference, says it is none, or refuses it with FormatError; a reference it reads writes
// back to a body that reads as the same reference; the parsers refuse a claim check without a
// source instead of taking it for a context.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <stepline/format/claim_check.hpp>
#include <stepline/format/format_error.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stepline::format;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::optional<ClaimCheck> reference;
  try {
    reference = read_claim_check(body);
  } catch (const FormatError&) {
    return 0;
  }
  if (!reference) return 0;
  const std::string written = write_claim_check(*reference);
  if (read_claim_check(written) != reference) {
    std::fprintf(stderr, "a claim check does not read back as itself: %s\n", written.c_str());
    std::abort();
  }
  try {
    parse(body, "json");
    std::fprintf(stderr, "a claim check was read as a context\n");
    std::abort();
  } catch (const FormatError&) {
  }
  return 0;
}
