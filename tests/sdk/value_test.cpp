#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <stepline/entity.hpp>
#include <stepline/execution_context.hpp>

using namespace stepline;

TEST_CASE("a guid round-trips through its text and rejects malformed text") {
  Guid g = Guid::parse("55555555-0000-0000-0000-0000000000AC");
  CHECK(g.str() == "55555555-0000-0000-0000-0000000000ac");
  CHECK(g.text().view() == g.str());  // the same text, in place
  CHECK(Guid::parse("{" + g.str() + "}") == g);
  CHECK_FALSE(Guid::try_parse("55555555-0000-0000-0000-0000000000a"));
  CHECK_FALSE(Guid::try_parse("55555555x0000-0000-0000-0000000000ac"));
  CHECK_THROWS_WITH_AS(Guid::parse("nope"), doctest::Contains("'nope' is not a guid"), std::invalid_argument);
  CHECK(Guid().is_nil());
  Guid r = Guid::random();
  CHECK_FALSE(r.is_nil());
  CHECK(r != Guid::random());
  CHECK((r.bytes()[6] >> 4) == 4);
}

TEST_CASE("a guid's text has each byte's two lower-case digits in their places") {
  // Every byte value in every position: byte i of guid k is (k + 17 * i) mod 256.
  for (int k = 0; k < 256; ++k) {
    std::array<std::uint8_t, 16> bytes{};
    std::string expected;
    for (int i = 0; i < 16; ++i) {
      bytes[i] = static_cast<std::uint8_t>((k + 17 * i) % 256);
      if (i == 4 || i == 6 || i == 8 || i == 10) expected += '-';
      char digits[3];
      std::snprintf(digits, sizeof digits, "%02x", bytes[i]);
      expected += digits;
    }
    const Guid g(bytes);
    CAPTURE(k);
    CHECK(g.text().view() == expected);
    CHECK(Guid::parse(expected) == g);
  }
}

TEST_CASE("date-times are UTC with millisecond precision in ISO-8601") {
  auto t = parse_iso8601("2024-08-02T07:00:39.5Z");
  REQUIRE(t);
  CHECK(to_iso8601(*t) == "2024-08-02T07:00:39.500Z");
  CHECK(t->time_since_epoch().count() == 1722582039500);
  auto offset = parse_iso8601("2024-08-02T09:00:39.500+02:00");
  REQUIRE(offset);
  CHECK(*offset == *t);
  CHECK(parse_iso8601("2024-08-02") == DateTime{std::chrono::sys_days{std::chrono::year{2024} / 8 / 2}});
  CHECK_FALSE(parse_iso8601("2024-13-02T00:00:00Z"));
  CHECK_FALSE(parse_iso8601("yesterday"));
}

TEST_CASE("date-times are written as snprintf would, across the range of four-digit years") {
  using namespace std::chrono;
  auto reference = [](DateTime t) {
    auto day = floor<days>(t);
    year_month_day ymd{day};
    hh_mm_ss<milliseconds> hms{t - day};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
    return std::string(buf);
  };
  std::vector<DateTime> times{DateTime{}, DateTime{milliseconds(-1)},
                              DateTime{sys_days{year{1} / 1 / 1}},
                              DateTime{sys_days{year{2024} / 2 / 29}} + hours(23) + minutes(59) +
                                  seconds(59) + milliseconds(999),
                              DateTime{sys_days{year{9999} / 12 / 31}} + hours(23) + milliseconds(7),
                              DateTime{sys_days{year{10000} / 1 / 1}},
                              DateTime{sys_days{year{-32767} / 1 / 1}}};
  std::uint64_t x = 88172645463325252ull;  // xorshift: the same times every run
  for (int i = 0; i < 2000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    times.push_back(DateTime{milliseconds(static_cast<long long>(x % 253402300800000ull))});
  }
  for (auto t : times) {
    CHECK(to_iso8601(t) == reference(t));
    CHECK(iso8601_text(t).view() == reference(t));  // the same text, in place
  }
  CHECK(to_iso8601(DateTime{}) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("decimals keep their exact text") {
  CHECK(Decimal("250000.0000").str() == "250000.0000");
  CHECK(Decimal("+1.5").str() == "1.5");
  CHECK(Decimal::from_double(12.25).to_double() == doctest::Approx(12.25));
  CHECK_THROWS_AS(Decimal("1e5"), std::invalid_argument);
  CHECK_THROWS_AS(Decimal("."), std::invalid_argument);
  CHECK_THROWS_AS(Decimal(""), std::invalid_argument);
}

TEST_CASE("a value holds each type of the model and reports its kind") {
  CHECK(Value().kind() == ValueKind::null);
  CHECK(Value("x").kind() == ValueKind::string);
  CHECK(Value(std::int32_t{5}).kind() == ValueKind::integer);
  CHECK(Value(std::int64_t{5}).kind() == ValueKind::big_integer);
  CHECK(Value(true).kind() == ValueKind::boolean);
  CHECK(Value(1.5).kind() == ValueKind::floating);
  CHECK(Value(Decimal("1.5")).kind() == ValueKind::decimal);
  CHECK(Value(Money{Decimal("1.5")}).kind() == ValueKind::money);
  CHECK(Value(OptionSetValue{3}).kind() == ValueKind::option_set);
  CHECK(Value(OptionSetValueCollection{{1, 2}}).kind() == ValueKind::multi_option_set);
  CHECK(Value(now_utc()).kind() == ValueKind::date_time);
  CHECK(Value(Guid::random()).kind() == ValueKind::guid);
  CHECK(Value(EntityReference{"account", Guid::random(), "Contoso"}).kind() == ValueKind::entity_reference);
  CHECK(Value(Entity("account")).kind() == ValueKind::entity);
  CHECK(Value(EntityCollection{}).kind() == ValueKind::entity_collection);
}

TEST_CASE("reading a value as the wrong type names both types") {
  Value v(Money{Decimal("10")});
  CHECK(v.as<Money>().value.str() == "10");
  CHECK(v.get_if<std::string>() == nullptr);
  CHECK_THROWS_WITH_AS(v.as<std::string>(), "value holds money, not string", ValueTypeError);
}

TEST_CASE("a value copies a nested entity deeply") {
  Entity account("account", Guid::random());
  account.set("name", "Contoso");
  Value a(account);
  Value b = a;
  b.get_if<Entity>()->set("name", "Fabrikam");
  CHECK(a.as<Entity>().get("name") == Value("Contoso"));
  CHECK(b.as<Entity>().get("name") == Value("Fabrikam"));
  CHECK(a != b);
  b = a;
  CHECK(a == b);
}

TEST_CASE("an entity projects onto an image's columns") {
  Entity e("account", Guid::random());
  e.set("name", "Contoso");
  e.set("revenue", Money{Decimal("100")});
  e.formatted_values["revenue"] = "$100.00";
  Entity image = e.project({"revenue", "missing"});
  CHECK(image.attributes.size() == 1);
  CHECK(image.contains("revenue"));
  CHECK_FALSE(image.contains("name"));
  CHECK(image.formatted_values.at("revenue") == "$100.00");
  CHECK(image.id == e.id);
  CHECK(e.get_as<std::string>("name") == "Contoso");
  CHECK_FALSE(e.get_as<std::string>("missing"));
}

TEST_CASE("a context exposes its Target and compares with its parent") {
  ExecutionContext c;
  CHECK(c.target() == nullptr);
  c.input_parameters["Target"] = Entity("account");
  REQUIRE(c.target() != nullptr);
  c.target()->set("name", "x");
  CHECK(c.target()->get("name") == Value("x"));
  ExecutionContext d = c;
  CHECK(c == d);
  d.parent_context = std::make_shared<ExecutionContext>(c);
  CHECK(c != d);
}
