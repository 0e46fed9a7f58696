// The SQLite record store on its own: CRUD, queries with paging, transactions and the schema.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include <stepline/host/store/sqlite_record_store.hpp>

#include "fixture.hpp"

using namespace stepline;
using namespace stepline::test;
using stepline::host::store::RecordStore;
using SqliteStore = stepline::host::store::SqliteRecordStore;

TEST_CASE("the record store creates, retrieves chosen columns, merges updates and deletes") {
  TempFolder data;
  SqliteStore store(data.path() / "db" / "stepline.db");
  Entity a = account("Contoso");
  a.set("revenue", Value(Money{Decimal("2000000.00")}));
  a.set("founded", Value(DateTime{std::chrono::milliseconds(1722582039000)}));
  Guid id = store.create(a);
  CHECK_FALSE(id.is_nil());

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
  CHECK(merged->contains("revenue"));
  CHECK(merged->row_version != all->row_version);

  store.remove("account", id);
  CHECK_FALSE(store.retrieve("account", id, ColumnSet::all()));
  CHECK_THROWS_AS(store.remove("account", id), host::store::RecordNotFound);
  CHECK_THROWS_AS(store.update(change), host::store::RecordNotFound);
}

TEST_CASE("generated ids are version-7 guids whose text sorts by creation time") {
  using namespace std::chrono;
  auto unix_ms = [](const Guid& g) {
    std::uint64_t ms = 0;
    for (std::size_t i = 0; i < 6; ++i) ms = ms << 8 | g.bytes()[i];
    return ms;
  };
  auto now_ms = [] {
    return static_cast<std::uint64_t>(
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
  };
  std::vector<Guid> ids;
  for (int i = 0; i < 5; ++i) {
    std::uint64_t before = now_ms();
    Guid g = host::store::time_ordered_guid();
    std::uint64_t after = now_ms();
    CHECK((g.bytes()[6] >> 4) == 7);       // version
    CHECK((g.bytes()[8] & 0xc0) == 0x80);  // RFC 9562 variant
    CHECK(unix_ms(g) >= before);
    CHECK(unix_ms(g) <= after);
    ids.push_back(g);
    std::this_thread::sleep_for(milliseconds(2));
  }
  for (std::size_t i = 1; i < ids.size(); ++i) CHECK(ids[i - 1].str() < ids[i].str());
  // Within one millisecond the random part keeps them apart.
  CHECK(host::store::time_ordered_guid() != host::store::time_ordered_guid());

  TempFolder data;
  SqliteStore store(data.path() / "stepline.db");
  Guid id = store.create(account("Contoso"));
  CHECK((id.bytes()[6] >> 4) == 7);
  Entity chosen = account("Fabrikam");
  chosen.id = fixed_guid(7);
  CHECK(store.create(chosen) == fixed_guid(7));  // a given id is kept
}

TEST_CASE("a create with a taken id is refused") {
  TempFolder data;
  SqliteStore store(data.path() / "stepline.db");
  Entity a("account", fixed_guid(7));
  store.create(a);
  CHECK_THROWS_AS(store.create(a), host::store::DuplicateRecord);
  // The same id in another table is a different record.
  CHECK(store.create(Entity("contact", fixed_guid(7))) == fixed_guid(7));
}

TEST_CASE("RetrieveMultiple matches every condition and pages in creation order") {
  TempFolder data;
  SqliteStore store(data.path() / "stepline.db");
  for (int i = 0; i < 7; ++i) {
    Entity a = account("A" + std::to_string(i));
    a.set("city", Value(i % 2 == 0 ? "Oslo" : "Bergen"));
    a.set("rank", Value(i));
    a.set("tier", Value(OptionSetValue{i < 3 ? 1 : 2}));
    store.create(a);
  }
  store.create(Entity("contact"));

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

TEST_CASE("transactions nest as savepoints and roll back when not committed") {
  TempFolder data;
  SqliteStore store(data.path() / "stepline.db");
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

TEST_CASE("a lone operation commits at once, alone") {
  TempFolder data;
  SqliteStore store(data.path() / "stepline.db");
  for (int i = 1; i <= 3; ++i) {
    RecordStore::Activity activity(store);
    RecordStore::Transaction t(store);
    store.create(Entity("account", fixed_guid(i)));
    t.commit();
    CHECK(store.commits() == static_cast<std::uint64_t>(i));
  }
}

TEST_CASE("concurrent operations commit, and each one that fails rolls back alone") {
  TempFolder data;
  SqliteStore store(data.path() / "stepline.db");
  constexpr int threads = 8, per_thread = 100;
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
  MESSAGE("operations per commit: ", double(committed) / double(store.commits()));
}

TEST_CASE("an operation that commits while another waits for the store shares its commit") {
  TempFolder data;
  SqliteStore store(data.path() / "stepline.db");
  RecordStore::Activity first_activity(store);
  std::optional<RecordStore::Transaction> first(std::in_place, store);
  store.create(Entity("account", fixed_guid(1)));
  std::thread second([&] {
    RecordStore::Activity activity(store);
    RecordStore::Transaction transaction(store);  // waits until the first one commits
    store.create(Entity("account", fixed_guid(2)));
    transaction.commit();
  });
  // However slowly the second thread is scheduled, the first commits only once it waits.
  while (store.waiting_operations() == 0) std::this_thread::yield();
  first->commit();
  second.join();
  CHECK(store.commits() == 1);
  CHECK(store.retrieve("account", fixed_guid(1), ColumnSet::all()));
  CHECK(store.retrieve("account", fixed_guid(2), ColumnSet::all()));
}

TEST_CASE("records survive reopening, the schema version is recorded and WAL is on") {
  TempFolder data;
  auto file = data.path() / "stepline.db";
  { SqliteStore(file).create(Entity("account", fixed_guid(1))); }
  SqliteStore again(file);
  CHECK(again.retrieve("account", fixed_guid(1), ColumnSet::all()));

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  auto pragma = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    sqlite3_step(s);
    std::string v = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return v;
  };
  CHECK(pragma("PRAGMA user_version") == std::to_string(again.schema_version()));
  CHECK(pragma("PRAGMA journal_mode") == "wal");
  sqlite3_close(db);
}

TEST_CASE("a database from a newer build is refused with a message naming the file") {
  TempFolder data;
  auto file = data.path() / "stepline.db";
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  CHECK_THROWS_WITH_AS(SqliteStore{file}, doctest::Contains(file.string().c_str()),
                       std::runtime_error);
}
