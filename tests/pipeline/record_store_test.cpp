// What is SQLite's own in the record store (the behaviour every store shares is in tests/store):
// commit groups, WAL and the schema version in the file; and time-ordered ids.
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

TEST_CASE("operations run as a batch share one commit and are answered once it is made") {
  // A plug-in on every Create looks, through a connection of its own, for the records the
  // batch's earlier operations wrote: none is committed while the batch runs.
  TempFolder data;
  const auto file = data.path() / "stepline.db";
  SqliteStore other(file);
  std::vector<int> seen_committed;
  TestFactory factory;
  factory.add("look", [&](ExecutionContext&, Services&) {
    for (int n = 1; n <= 3; ++n)
      if (other.retrieve("account", fixed_guid(n), ColumnSet::all())) seen_committed.push_back(n);
  });
  SqliteStore store(file);
  host::pipeline::Pipeline pipeline(
      make_registration({make_step("look", "Create", "account", Stage::post_operation, "look")}),
      factory, store);
  auto create = [](int n) {
    return host::pipeline::OperationRequest{
        .message = "Create", .parameters = {{"Target", Value(Entity("account", fixed_guid(n)))}}};
  };
  // The second takes the first one's id: it fails and rolls back alone.
  const std::vector<host::pipeline::OperationRequest> requests{create(1), create(1), create(3)};
  const auto commits = store.commits();
  auto responses = pipeline.execute_batch(requests);

  REQUIRE(responses.size() == 3);
  CHECK(responses[0].ok());
  CHECK(responses[0].output_parameters.at("id").as<Guid>() == fixed_guid(1));
  CHECK_FALSE(responses[1].ok());
  CHECK(responses[1].error_message.find("already exists") != std::string::npos);
  CHECK(responses[2].ok());
  CHECK(seen_committed.empty());
  CHECK(store.commits() == commits + 1);
  CHECK(other.retrieve("account", fixed_guid(1), ColumnSet::all()));
  CHECK(other.retrieve("account", fixed_guid(3), ColumnSet::all()));
  CHECK(other.retrieve_multiple({.entity_name = "account"}).entities.size() == 2);

  // Outside a batch, each commits before it returns.
  CHECK(pipeline.execute(create(2)).ok());
  CHECK(store.commits() == commits + 2);
  CHECK(seen_committed == std::vector<int>{1, 3});
}

TEST_CASE("a batch of more operations than a commit group holds commits them in groups") {
  TempFolder data;
  TestFactory factory;
  SqliteStore store(data.path() / "stepline.db");
  host::pipeline::Pipeline pipeline(make_registration({}), factory, store);
  std::vector<host::pipeline::OperationRequest> requests;
  for (int n = 1; n <= 150; ++n)
    requests.push_back(
        {.message = "Create", .parameters = {{"Target", Value(Entity("account", fixed_guid(n)))}}});
  const auto commits = store.commits();
  auto responses = pipeline.execute_batch(requests);
  for (const auto& r : responses) CHECK(r.ok());
  CHECK(store.commits() == commits + 3);  // 64 + 64 + 22
  SqliteStore other(data.path() / "stepline.db");
  CHECK(other.retrieve_multiple({.entity_name = "account"}).entities.size() == 150);
}
