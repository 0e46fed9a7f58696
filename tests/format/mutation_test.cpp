// Damaged bodies (bytes flipped, cut short, spliced) either read as some context or fail with a
// FormatError; nothing else escapes and nothing crashes. A fixed seed keeps runs repeatable.
#include <doctest/doctest.h>

#include <random>

#include <stepline/format/binary.hpp>
#include <stepline/format/format.hpp>

#include "sample_contexts.hpp"

using namespace stepline;
using namespace stepline::format;

namespace {

std::string damaged(std::string body, std::mt19937& rng) {
  std::uniform_int_distribution<std::size_t> at(0, body.size() - 1);
  switch (rng() % 4) {
    case 0:  // flip a few bytes
      for (int i = 0; i < 3; ++i) body[at(rng)] = static_cast<char>(rng());
      break;
    case 1:  // cut short
      body.resize(at(rng));
      break;
    case 2:  // drop a slice
      body.erase(at(rng), rng() % 40);
      break;
    default:  // repeat a slice somewhere else
      body.insert(at(rng), body.substr(at(rng), rng() % 40));
  }
  return body;
}

}  // namespace

TEST_CASE("damaged bodies in every format read or fail with a FormatError, never otherwise") {
  ExecutionContext c = samples::full_context();
  std::mt19937 rng(20240802);
  for (std::string_view f : format_names()) {
    CAPTURE(f);
    const std::string body = serialize_any_format(c, f);
    int read = 0, refused = 0;
    for (int i = 0; i < 400; ++i) {
      std::string bad = damaged(body, rng);
      try {
        parse_any_format(bad, f);
        ++read;
      } catch (const FormatError&) {
        ++refused;
      } catch (const std::exception& e) {
        FAIL_CHECK("mutation " << i << " threw " << typeid(e).name() << ": " << e.what());
      }
    }
    CHECK(read + refused == 400);
    CHECK(refused > 0);
  }
}
