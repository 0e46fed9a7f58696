// The record store's behaviour, the same on every kind of store: CRUD, queries with paging,
// transactions that nest as savepoints, concurrent operations that each roll back alone, the
// schema's version, and two hosts writing one record.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "store/kinds.hpp"

using namespace stepline;
using namespace stepline::test;
using host::store::RecordStore;

TEST_CASE_TEMPLATE("the record store creates, retrieves chosen columns, merges updates and deletes",
                   Kind, STORE_KINDS) {
  Stores<Kind> s;
  host::store::RecordStore& store = *s.records;
  Entity a = account("Contoso");
  a.set("revenue", Value(Money{Decimal("2000000.00")}));
  a.set("founded", Value(DateTime{std::chrono::milliseconds(1722582039000)}));
  a.set("ratio", Value(1.5e10));
  a.set("count", Value(3));
  Guid id = store.create(a);
  CHECK((id.bytes()[6] >> 4) == 7);  // a time-ordered id when none is given

  auto all = store.retrieve("account", id, ColumnSet::all());
  REQUIRE(all);
  CHECK(all->attributes == a.attributes);
  CHECK(all->id == id);
  auto some = store.retrieve("account", id, ColumnSet{false, {"revenue"}});
  CHECK(some->attributes.size() == 1);
  CHECK(some->get("revenue") == Value(Money{Decimal("2000000.00")}));

  Entity change("account", id);
  change.set("name", Value("Contoso Ltd"));
  store.update(change);
  auto merged = store.retrieve("account", id, ColumnSet::all());
  CHECK(merged->get_as<std::string>("name") == "Contoso Ltd");
  CHECK(merged->get("ratio") == Value(1.5e10));  // still a double, not a whole number
  CHECK(merged->contains("revenue"));
  CHECK(merged->row_version != all->row_version);

  store.remove("account", id);
  CHECK_FALSE(store.retrieve("account", id, ColumnSet::all()));
  CHECK_THROWS_AS(store.remove("account", id), host::store::RecordNotFound);
  CHECK_THROWS_AS(store.update(change), host::store::RecordNotFound);
}

TEST_CASE_TEMPLATE("an update replaces each attribute it names whole and leaves the others", Kind,
                   STORE_KINDS) {
  Stores<Kind> s;
  host::store::RecordStore& store = *s.records;
  Entity a = account("Contoso");
  const Guid parent_id = Guid::random();
  a.set("parentaccountid", Value(EntityReference{"account", parent_id, "Fabrikam"}));
  a.set("revenue", Value(Money{Decimal("2000000.00")}));
  a.set("numberofemployees", Value(120));
  a.set("description", Value(std::string(3000, 'd')));
  a.set("odd \"name\"", Value("quoted"));
  a.set("dotted.name", Value("dotted"));
  const Guid id = store.create(a);
  const auto version = store.retrieve("account", id, ColumnSet::all())->row_version;

  Entity change("account", id);
  change.set("parentaccountid", Value(EntityReference{"account", parent_id, ""}));
  change.set("numberofemployees", Value());
  change.set("telephone1", Value("+1 555 0100"));
  store.update(change);
  auto after = store.retrieve("account", id, ColumnSet::all());
  REQUIRE(after);
  // The reference is the new one, without the old one's name: replaced, not merged.
  CHECK(after->get("parentaccountid") == Value(EntityReference{"account", parent_id, ""}));
  CHECK(after->contains("numberofemployees"));
  CHECK(after->get("numberofemployees") == Value());
  CHECK(after->get_as<std::string>("telephone1") == "+1 555 0100");
  CHECK(after->get("revenue") == Value(Money{Decimal("2000000.00")}));
  CHECK(after->get_as<std::string>("description") == std::string(3000, 'd'));
  CHECK(after->get_as<std::string>("odd \"name\"") == "quoted");
  CHECK(after->get_as<std::string>("dotted.name") == "dotted");
  CHECK(after->attributes.size() == a.attributes.size() + 1);
  CHECK(after->row_version != version);

  // Names with a quote, a dot or a space, beside a plain one.
  Entity odd("account", id);
  odd.set("odd \"name\"", Value("still quoted"));
  odd.set("dotted.name", Value("still dotted"));
  odd.set("name", Value("Contoso Ltd"));
  store.update(odd);
  after = store.retrieve("account", id, ColumnSet::all());
  CHECK(after->get_as<std::string>("odd \"name\"") == "still quoted");
  CHECK(after->get_as<std::string>("dotted.name") == "still dotted");
  CHECK(after->get_as<std::string>("name") == "Contoso Ltd");
  CHECK(after->get_as<std::string>("telephone1") == "+1 555 0100");
  CHECK(after->attributes.size() == a.attributes.size() + 1);

  // Names a JSON path would read as steps, set in place (no quote or backslash among them).
  Entity steps("account", id);
  steps.set("dotted.name", Value("dotted again"));
  steps.set("with [0] brackets", Value("bracketed"));
  store.update(steps);
  after = store.retrieve("account", id, ColumnSet::all());
  CHECK(after->get_as<std::string>("dotted.name") == "dotted again");
  CHECK(after->get_as<std::string>("with [0] brackets") == "bracketed");
  CHECK(after->attributes.size() == a.attributes.size() + 2);

  // Values JSON escapes, and names past the few an update usually sets (twelve at once).
  Entity many("account", id);
  const std::string hostile = "say \"hi\" \\ back, a tab\t, a bell \a and Zo\u00eb";
  for (int i = 0; i < 12; ++i)
    many.set("field" + std::to_string(i), Value(hostile + std::to_string(i)));
  store.update(many);
  Entity escaped("account", id);
  escaped.set("description", Value(std::string(hostile)));
  escaped.set("field3", Value(2.5));
  store.update(escaped);
  after = store.retrieve("account", id, ColumnSet::all());
  CHECK(after->get_as<std::string>("description") == hostile);
  CHECK(after->get("field3") == Value(2.5));
  CHECK(after->get_as<std::string>("field11") == hostile + "11");
  CHECK(after->get_as<std::string>("odd \"name\"") == "still quoted");
  CHECK(after->attributes.size() == a.attributes.size() + 2 + 12);

  // An update that names nothing still counts as a change of the row.
  const auto before_empty = after->row_version;
  store.update(Entity("account", id));
  CHECK(store.retrieve("account", id, ColumnSet::all())->row_version != before_empty);
  CHECK_THROWS_AS(store.update(Entity("account", Guid::random())), host::store::RecordNotFound);
}

TEST_CASE_TEMPLATE("text with a NUL is kept by SQLite and refused by PostgreSQL, naming it", Kind,
                   STORE_KINDS) {
  Stores<Kind> s;
  host::store::RecordStore& store = *s.records;
  const std::string with_nul = std::string("before") + '\0' + "after";
  Entity a = account("Contoso");
  // Six characters that read like the escape, after a backslash: not a NUL.
  a.set("description", Value(std::string("a backslash then \\u0000")));
  const Guid id = store.create(a);
  CHECK(store.retrieve("account", id, ColumnSet::all())->get_as<std::string>("description") ==
        "a backslash then \\u0000");

  Entity change("account", id);
  change.set("telephone1", Value("+1 555 0100"));
  change.set("description", Value(with_nul));
  Entity named(account("Fabrikam"));
  named.set(std::string("odd") + '\0' + "name", Value("x"));
  Query query;
  query.entity_name = "account";
  query.conditions.emplace_back("description", Value(with_nul));
  if (std::is_same_v<Kind, test::SqliteKind>) {
    store.update(change);
    CHECK(store.retrieve("account", id, ColumnSet::all())->get_as<std::string>("description") ==
          with_nul);
    CHECK(store.retrieve_multiple(query).entities.size() == 1);
  } else {
    CHECK_THROWS_WITH_AS(
        store.update(change),
        "account attribute 'description' holds a NUL character (U+0000), which a "
        "PostgreSQL store cannot keep (jsonb refuses it); send the text without it",
        host::store::UnstorableText);
    CHECK_THROWS_WITH_AS(store.create(named), doctest::Contains("attribute 'odd\\u0000name'"),
                         host::store::UnstorableText);
    // Nothing was written, and a query for such text finds nothing instead of failing.
    CHECK(store.retrieve("account", id, ColumnSet::all())->get_as<std::string>("description") ==
          "a backslash then \\u0000");
    CHECK(store.retrieve_multiple(query).entities.empty());
    CHECK(store.retrieve_multiple(Query{"account"}).entities.size() == 1);
  }
}

TEST_CASE_TEMPLATE("a create with a taken id is refused, in another table it is not", Kind,
                   STORE_KINDS) {
  Stores<Kind> s;
  Entity a("account", fixed_guid(7));
  s.records->create(a);
  CHECK_THROWS_AS(s.records->create(a), host::store::DuplicateRecord);
  CHECK(s.records->create(Entity("contact", fixed_guid(7))) == fixed_guid(7));
  // Refused inside an operation, the operation's other writes still commit.
  {
    RecordStore::Transaction operation(*s.records);
    s.records->create(Entity("account", fixed_guid(8)));
    {
      RecordStore::Transaction nested(*s.records);
      CHECK_THROWS_AS(s.records->create(a), host::store::DuplicateRecord);
    }
    operation.commit();
  }
  CHECK(s.records->retrieve("account", fixed_guid(8), ColumnSet::all()));
}

TEST_CASE_TEMPLATE("RetrieveMultiple matches every condition and pages in creation order", Kind,
                   STORE_KINDS) {
  Stores<Kind> s;
  host::store::RecordStore& store = *s.records;
  for (int i = 0; i < 7; ++i) {
    Entity a = account("A" + std::to_string(i));
    a.set("city", Value(i % 2 == 0 ? "Oslo" : "Bergen"));
    a.set("rank", Value(i));
    a.set("tier", Value(OptionSetValue{i < 3 ? 1 : 2}));
    a.set("odd \"name\"", Value(i < 2 ? "quoted" : "other"));
    a.set("back\\slash", Value(i == 6));
    a.set("revenue", Value(Money{Decimal(i == 3 ? "1200.50" : "7")}));
    a.set("share", Value(Decimal(i == 4 ? "-0.250" : "1")));
    store.create(a);
  }
  store.create(Entity("contact"));
  // Names that JSON escapes, which SQL's JSON paths cannot always spell.
  CHECK(store
            .retrieve_multiple(
                {.entity_name = "account", .conditions = {{"odd \"name\"", Value("quoted")}}})
            .entities.size() == 2);
  CHECK(store
            .retrieve_multiple(
                {.entity_name = "account", .conditions = {{"back\\slash", Value(true)}}})
            .entities.size() == 1);

  // Decimals and money match as numbers, whatever text each was written with.
  auto by_revenue = store.retrieve_multiple(
      {.entity_name = "account", .conditions = {{"revenue", Value(Money{Decimal("1200.5")})}}});
  REQUIRE(by_revenue.entities.size() == 1);
  CHECK(by_revenue.entities[0].get_as<std::string>("name") == "A3");
  CHECK(store
            .retrieve_multiple({.entity_name = "account",
                                .conditions = {{"revenue", Value(Money{Decimal("01200.500")})}}})
            .entities.size() == 1);
  CHECK(store
            .retrieve_multiple(
                {.entity_name = "account", .conditions = {{"share", Value(Decimal("-0.25"))}}})
            .entities.size() == 1);
  CHECK(store
            .retrieve_multiple({.entity_name = "account",
                                .conditions = {{"revenue", Value(Money{Decimal("1200.51")})}}})
            .entities.empty());
  CHECK(store
            .retrieve_multiple(
                {.entity_name = "account", .conditions = {{"revenue", Value(Decimal("7"))}}})
            .entities.empty());  // a decimal is not money
  auto oslo =
      store.retrieve_multiple({.entity_name = "account", .conditions = {{"city", Value("Oslo")}}});
  CHECK(oslo.entities.size() == 4);
  CHECK_FALSE(oslo.more_records);
  auto oslo_tier2 = store.retrieve_multiple(
      {.entity_name = "account",
       .conditions = {{"city", Value("Oslo")}, {"tier", Value(OptionSetValue{2})}}});
  REQUIRE(oslo_tier2.entities.size() == 2);
  CHECK(oslo_tier2.entities[0].get_as<std::string>("name") == "A4");
  auto by_rank =
      store.retrieve_multiple({.entity_name = "account", .conditions = {{"rank", Value(5)}}});
  REQUIRE(by_rank.entities.size() == 1);
  CHECK(by_rank.entities[0].get_as<std::string>("name") == "A5");

  std::vector<std::string> names;
  Query page{.entity_name = "account",
             .columns = ColumnSet{false, {"name"}},
             .page_size = 3,
             .page_number = 1};
  for (;; ++page.page_number) {
    auto result = store.retrieve_multiple(page);
    for (const auto& e : result.entities) {
      CHECK(e.attributes.size() == 1);
      names.push_back(*e.get_as<std::string>("name"));
    }
    if (!result.more_records) break;
    CHECK(result.paging_cookie == std::to_string(page.page_number + 1));
  }
  CHECK(page.page_number == 3);
  CHECK(names == std::vector<std::string>{"A0", "A1", "A2", "A3", "A4", "A5", "A6"});
  CHECK(store.retrieve_multiple({.entity_name = "account", .page_size = 3, .page_number = 9})
            .entities.empty());
}

TEST_CASE_TEMPLATE("RetrieveMultiple takes a thousand conditions, and checks every one", Kind,
                   STORE_KINDS) {
  Stores<Kind> s;
  Entity wide = account("Wide");
  Query query{.entity_name = "account"};
  for (int i = 0; i < 1200; ++i) {
    wide.set("c" + std::to_string(i), Value(i));
    query.conditions.emplace_back("c" + std::to_string(i), Value(i));
  }
  s.records->create(wide);
  s.records->create(account("Narrow"));
  CHECK(s.records->retrieve_multiple(query).entities.size() == 1);
  // The last condition, far past those the SQL narrows by, still decides.
  query.conditions.back().second = Value(-1);
  CHECK(s.records->retrieve_multiple(query).entities.empty());
}

TEST_CASE_TEMPLATE("a RetrieveMultiple page over 64 MiB fails, naming what to ask for instead",
                   Kind, STORE_KINDS) {
  Stores<Kind> s;
  const std::string large(1 << 20, 'x');
  for (int i = 0; i < 66; ++i) {
    Entity a = account("A" + std::to_string(i));
    a.set("notes", Value(large));
    s.records->create(a);
  }
  try {
    s.records->retrieve_multiple({.entity_name = "account"});
    FAIL("a page of 66 MiB was answered");
  } catch (const host::store::PageTooLarge& e) {
    CHECK(std::string(e.what()) ==
          "RetrieveMultiple of account: the page would hold more than 64 MiB of records (it "
          "reached that at record 64); ask for fewer records a page (PageSize; over HTTP, Prefer: "
          "odata.maxpagesize or $top)");
  }
  // A page of fewer, or of small columns of each, is answered.
  CHECK(s.records->retrieve_multiple({.entity_name = "account", .page_size = 60}).entities.size() ==
        60);
  CHECK(s.records
            ->retrieve_multiple({.entity_name = "account", .columns = ColumnSet{false, {"name"}}})
            .entities.size() == 66);
}

TEST_CASE_TEMPLATE("RetrieveMultiple reads a table larger than one chunk of rows", Kind,
                   STORE_KINDS) {
  Stores<Kind> s;
  {
    RecordStore::Transaction operation(*s.records);
    for (int i = 0; i < 1203; ++i) {
      Entity a("account");
      a.set("even", Value(i % 2 == 0));
      s.records->create(a);
    }
    operation.commit();
  }
  CHECK(s.records->retrieve_multiple({.entity_name = "account"}).entities.size() == 1203);
  CHECK(s.records
            ->retrieve_multiple({.entity_name = "account", .conditions = {{"even", Value(true)}}})
            .entities.size() == 602);
}

TEST_CASE_TEMPLATE("transactions nest as savepoints and roll back when not committed", Kind,
                   STORE_KINDS) {
  Stores<Kind> s;
  host::store::RecordStore& store = *s.records;
  {
    RecordStore::Transaction outer(store);
    store.create(Entity("account", fixed_guid(1)));
    {
      RecordStore::Transaction inner(store);
      store.create(Entity("account", fixed_guid(2)));
    }  // inner rolled back
    {
      RecordStore::Transaction inner(store);
      store.create(Entity("account", fixed_guid(3)));
      inner.commit();
    }
    // Reads inside the transaction see its own writes.
    CHECK(store.retrieve("account", fixed_guid(3), ColumnSet::all()));
    outer.commit();
  }
  CHECK(store.retrieve("account", fixed_guid(1), ColumnSet::all()));
  CHECK_FALSE(store.retrieve("account", fixed_guid(2), ColumnSet::all()));
  CHECK(store.retrieve("account", fixed_guid(3), ColumnSet::all()));
  {
    RecordStore::Transaction abandoned(store);
    store.create(Entity("account", fixed_guid(4)));
  }
  CHECK_FALSE(store.retrieve("account", fixed_guid(4), ColumnSet::all()));
}

TEST_CASE_TEMPLATE("concurrent operations commit, and each one that fails rolls back alone", Kind,
                   STORE_KINDS) {
  Stores<Kind> s;
  host::store::RecordStore& store = *s.records;
  constexpr int threads = 8, per_thread = 50;
  std::atomic<int> committed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        RecordStore::Activity activity(store);
        RecordStore::Transaction transaction(store);
        Entity e("account", fixed_guid(1000 * (t + 1) + i));
        e.set("n", Value(i));
        store.create(e);
        if (i % 10 == 9) continue;  // fails: rolled back when `transaction` goes
        transaction.commit();
        ++committed;
      }
    });
  }
  for (auto& c : callers) c.join();
  CHECK(committed == threads * per_thread * 9 / 10);
  auto all = store.retrieve_multiple({.entity_name = "account"});
  CHECK(all.entities.size() == static_cast<std::size_t>(threads * per_thread * 9 / 10));
  for (const auto& e : all.entities) CHECK(e.get_as<std::int32_t>("n").value_or(-1) % 10 != 9);
  CHECK(store.commits() >= 1);
  CHECK(store.commits() <= static_cast<std::uint64_t>(committed.load()));
}

TEST_CASE_TEMPLATE("two hosts updating one record each keep the other's columns", Kind,
                   STORE_KINDS) {
  Kind kind;
  auto first = host::store::open_records(kind.location());
  auto second = host::store::open_records(kind.location());
  const Guid id = first->create(Entity("account", fixed_guid(1)));
  constexpr int updates = 100;
  auto writer = [&](host::store::RecordStore& store, const char* column) {
    for (int i = 1; i <= updates; ++i) {
      Entity change("account", id);
      change.set(column, Value(i));
      RecordStore::Transaction t(store);
      store.update(change);
      t.commit();
    }
  };
  std::thread a(writer, std::ref(*first), "a");
  std::thread b(writer, std::ref(*second), "b");
  a.join();
  b.join();
  auto record = first->retrieve("account", id, ColumnSet::all());
  REQUIRE(record);
  CHECK(record->get("a") == Value(updates));
  CHECK(record->get("b") == Value(updates));
  CHECK(record->row_version == std::to_string(1 + 2 * updates));
}

TEST_CASE_TEMPLATE("records survive reopening, and the schema version is this build's", Kind,
                   STORE_KINDS) {
  Kind kind;
  int version = 0;
  {
    auto store = host::store::open_records(kind.location());
    store->create(Entity("account", fixed_guid(1)));
    version = store->schema_version();
  }
  auto again = host::store::open_records(kind.location());
  CHECK(again->retrieve("account", fixed_guid(1), ColumnSet::all()));
  CHECK(again->schema_version() == version);
  auto migrated = host::store::migrate(kind.location());
  CHECK(migrated.from == version);
  CHECK(migrated.to == version);
}

TEST_CASE_TEMPLATE("a store whose schema is newer than this build's is refused, naming it", Kind,
                   STORE_KINDS) {
  Kind kind;
  host::store::open_records(kind.location());
  kind.make_schema_newer();
  const auto described = kind.location().describe();
  CHECK_THROWS_WITH_AS(host::store::open_records(kind.location()),
                       doctest::Contains(described.c_str()), std::runtime_error);
  CHECK_THROWS_WITH_AS(host::store::open_jobs(kind.location()), doctest::Contains("99"),
                       std::runtime_error);
  CHECK_THROWS_AS(host::store::migrate(kind.location()), std::runtime_error);
}
