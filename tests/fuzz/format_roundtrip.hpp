// What each format's fuzz target checks: a body either reads as a context or is refused with a
// FormatError (nothing else escapes, nothing crashes), and a context that was read writes back to
// a body that reads as the same context.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <stepline/format/binary.hpp>
#include <stepline/format/format.hpp>

namespace stepline::fuzz {

/// `name` is the format's registered name; binary.hpp's library registers `binary`.
inline int read_and_write_back(std::string_view name, const std::uint8_t* data, std::size_t size) {
  using namespace stepline::format;
  const Format& f = format_named(name);
  ExecutionContext context;
  try {
    context = f.read(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const FormatError&) {
    return 0;
  }
  const std::string body = f.write(context);
  try {
    const ExecutionContext again = f.read(body);
    // A NaN is never equal to itself; the json format spells it, and everything else, one way.
    if (again == context || serialize(again, "json") == serialize(context, "json")) return 0;
    std::fprintf(stderr, "%s: the context read back differs from the one written:\n%.*s\n",
                 std::string(name).c_str(), static_cast<int>(body.size()), body.data());
  } catch (const FormatError& e) {
    std::fprintf(stderr, "%s: the body written cannot be read back (%s):\n%.*s\n",
                 std::string(name).c_str(), e.what(), static_cast<int>(body.size()), body.data());
  }
  std::abort();
}

}  // namespace stepline::fuzz

/// Defines the fuzz target of one format, given its registered name.
#define STEPLINE_FORMAT_FUZZER(format_name)                                           \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { \
    return stepline::fuzz::read_and_write_back(format_name, data, size);              \
  }
