// A registration is UTF-8 text, and so is every secret it reads: anything else is refused where
// it is, before a name or a value can reach a JSON body (which must be UTF-8).
#include <doctest/doctest.h>

#include <sys/stat.h>

#include "scratch.hpp"

namespace stepline::registration {
namespace {

using testing::errors_of;
using testing::ScopedEnv;
using testing::Scratch;

constexpr std::string_view step_named = R"(steps:
  - name: "Tier )";
constexpr std::string_view rest_of_step = R"("
    message: Update
    stage: pre-operation
    handler: {plugin: Samples.SetAccountTier}
)";

std::string step_with_name(std::string_view name) {
  return std::string(step_named) + std::string(name) + std::string(rest_of_step);
}

}  // namespace

TEST_CASE("a step name with bytes that are not UTF-8 is refused at the byte's line and column") {
  Scratch scratch;
  auto errors = errors_of(scratch, step_with_name("caf\xc3\xa9 \xff\xfe"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].where.file == (scratch.folder() / "stepline.yaml").string());
  CHECK(errors[0].where.line == 2);
  // `  - name: "Tier café ` is 21 characters: the é counts once, as an editor shows it.
  CHECK(errors[0].where.column == 22);
  CHECK(errors[0].message == "the file is not UTF-8 here (byte 0xFF); save it as UTF-8");
}

TEST_CASE("text in any other encoding, a comment or an included file included, is refused") {
  Scratch scratch;
  auto latin1 = errors_of(scratch, "# caf\xe9\n" + step_with_name("ok"));
  REQUIRE(latin1.size() == 1);
  CHECK(latin1[0].where.line == 1);
  CHECK(latin1[0].where.column == 6);
  CHECK(latin1[0].message == "the file is not UTF-8 here (byte 0xE9); save it as UTF-8");

  scratch.write("more.yaml", step_with_name("\xed\xa0\x80"));  // an encoded surrogate
  auto included = errors_of(scratch, "include: more.yaml\n");
  REQUIRE(included.size() == 1);
  CHECK(included[0].where.file == (scratch.folder() / "more.yaml").string());
  CHECK(included[0].where.line == 2);

  // A byte order mark is UTF-8 too; UTF-8 names in any script load unchanged.
  CHECK(load(scratch.write("bom.yaml", "\xef\xbb\xbf" + step_with_name("ok"))).steps.size() == 1);
  Registration r =
      load(scratch.write("good.yaml", step_with_name("\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80")));
  CHECK(r.steps.at(0).name == "Tier \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80");
}

TEST_CASE("a secret that is not UTF-8 text is refused naming its source, never its value") {
  Scratch scratch;
  ScopedEnv env("STEPLINE_TEST_BINARY_SECRET", "key=TOPSECRET\xff\xfe");
  scratch.write("secret.bin", "TOPSECRET\x80\n");
  auto errors = errors_of(scratch, R"(steps:
  - name: env secret
    message: Update
    stage: pre-operation
    secure_configuration: ${env:STEPLINE_TEST_BINARY_SECRET}
    handler: {plugin: Samples.SetAccountTier}
  - name: file secret
    message: Update
    stage: pre-operation
    secure_configuration: ${file:secret.bin}
    handler: {plugin: Samples.SetAccountTier}
endpoints:
  - name: events
    contract: queue
    path: events
    connection: Endpoint=sb://localhost/;SharedAccessKeyName=send;SharedAccessKey=${env:STEPLINE_TEST_BINARY_SECRET}
)");
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].where.line == 5);
  CHECK(errors[0].message ==
        "secure_configuration: the value of environment variable STEPLINE_TEST_BINARY_SECRET is "
        "not UTF-8 text (byte 14 of it); secrets are text");
  CHECK(errors[1].where.line == 10);
  CHECK(errors[1].message == "secure_configuration: the value of secret file " +
                                 (scratch.folder() / "secret.bin").string() +
                                 " is not UTF-8 text (byte 10 of it); secrets are text");
  CHECK(errors[2].where.line == 16);
  CHECK(errors[2].message.starts_with("connection: the value of environment variable "));
  for (const auto& e : errors) CHECK(e.str().find("TOPSECRET") == std::string::npos);
}

TEST_CASE("a secret file must be a regular file of at most 1 MiB: a FIFO or a device never ends") {
  Scratch scratch;
  const auto fifo = scratch.folder() / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  scratch.write("big.txt", std::string((1 << 20) + 1, 'k'));
  auto errors = errors_of(scratch, R"(steps:
  - name: fifo
    message: Update
    stage: pre-operation
    secure_configuration: ${file:fifo}
    handler: {plugin: Samples.SetAccountTier}
  - name: device
    message: Update
    stage: pre-operation
    secure_configuration: ${file:/dev/zero}
    handler: {plugin: Samples.SetAccountTier}
  - name: big
    message: Update
    stage: pre-operation
    secure_configuration: ${file:big.txt}
    handler: {plugin: Samples.SetAccountTier}
)");
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].message == "secure_configuration: secret file " + fifo.string() +
                                 " cannot be read (not a regular file); create it or correct the "
                                 "path");
  CHECK(errors[1].message ==
        "secure_configuration: secret file /dev/zero cannot be read (not a regular file); create "
        "it or correct the path");
  CHECK(errors[2].message == "secure_configuration: secret file " +
                                 (scratch.folder() / "big.txt").string() +
                                 " has 1048577 bytes, more than the 1048576 a secret may have; "
                                 "name the file that holds only the secret");
}

}  // namespace stepline::registration
