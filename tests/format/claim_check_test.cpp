// The claim-check reference a listener finds in place of a large context, and the parsers that
// recognise it: read it back, refuse to take it for a context, or fetch the real body through a
// ClaimCheckSource and read that.
#include <doctest/doctest.h>

#include <stepline/format/binary.hpp>
#include <stepline/format/claim_check.hpp>
#include <stepline/format/format_error.hpp>

#include "sample_contexts.hpp"

using namespace stepline;
using namespace stepline::format;

namespace {

ClaimCheck reference_of(std::string_view body, std::string_view format) {
  ClaimCheck r;
  r.url = "https://contoso.blob.core.windows.net/stepline-claims/orders/0190-aa";
  r.size = body.size();
  r.content_type = std::string(format_named(format).content_type);
  r.format = std::string(format);
  r.sha256 = std::string(64, 'a');
  return r;
}

/// A source that hands out one body, counting the fetches.
class OneBody final : public ClaimCheckSource {
 public:
  explicit OneBody(std::string body) : body_(std::move(body)) {}
  std::string fetch(const ClaimCheck&) override {
    ++fetches;
    return body_;
  }
  int fetches = 0;

 private:
  std::string body_;
};

}  // namespace

TEST_CASE("a claim check writes and reads back with every field") {
  ClaimCheck r = reference_of("{}", "xml");
  r.delete_after_read = true;
  const std::string body = write_claim_check(r);
  CHECK(body.starts_with("{\"stepline.claim_check\":{\"url\":"));
  CHECK(is_claim_check(body));
  CHECK(is_claim_check("  {\n \"stepline.claim_check\": {}}"));
  CHECK_FALSE(is_claim_check(serialize(samples::full_context(), "json")));
  CHECK(read_claim_check(body) == r);
  CHECK(read_claim_check("{\"BusinessUnitId\":1}") == std::nullopt);
}

TEST_CASE("a claim check names its format as registered, whichever libraries the reader has") {
  ClaimCheck r = reference_of("{}", "json");
  r.format = "a-format-of-another-library";
  CHECK(read_claim_check(write_claim_check(r))->format == "a-format-of-another-library");
  r.format = "JSON; drop";
  CHECK_THROWS_WITH_AS(read_claim_check(write_claim_check(r)),
                       doctest::Contains("stepline.claim_check.format: expected a format's name"),
                       FormatError);
}

TEST_CASE("a malformed claim check names the field at fault") {
  CHECK_THROWS_WITH_AS(read_claim_check(R"({"stepline.claim_check":{"url":"ftp://x"}})"),
                       "stepline.claim_check.url: expected an http(s) URL", FormatError);
  std::string no_digest = write_claim_check(reference_of("{}", "json"));
  no_digest.replace(no_digest.find(std::string(64, 'a')), 64, "xyz");
  CHECK_THROWS_WITH_AS(read_claim_check(no_digest),
                       "stepline.claim_check.sha256: expected 64 lower-case hex digits",
                       FormatError);
}

TEST_CASE("the parsers refuse a claim check as a context and say how to read it") {
  const std::string body = write_claim_check(reference_of("{}", "json"));
  for (std::string_view f : {"json", "dataverse-json", "xml", "cloudevents"}) {
    CHECK_THROWS_WITH_AS(parse(body, f),
                         doctest::Contains("the body is a claim check: the context (2 bytes) is "
                                           "the blob https://contoso.blob.core.windows.net/"),
                         FormatError);
  }
  CHECK_THROWS_WITH_AS(parse_any_format(body, "binary"), doctest::Contains("BlobReader"),
                       FormatError);
}

TEST_CASE("parse_any_format with a source reads the claim-checked body in the format it names") {
  const ExecutionContext context = samples::full_context();
  for (std::string_view f : {"dataverse-json", "json", "xml", "binary"}) {
    const std::string real = serialize_any_format(context, f);
    OneBody source(real);
    // The endpoint's format does not matter: the reference says how the blob is written.
    CHECK(parse_any_format(write_claim_check(reference_of(real, f)), "json", source) ==
          parse_any_format(real, f));
    CHECK(source.fetches == 1);
  }
  OneBody unused("not read");
  CHECK(parse_any_format(serialize(context, "json"), "json", unused) == context);
  CHECK(unused.fetches == 0);
}
