// The kinds of store the store behaviour suite runs every test on, each a fixture that makes a
// store of its own for the test: an SQLite file in a temporary folder, and a fresh database on
// the PostgreSQL server the test program starts (testkit/postgres.hpp). A test written once with
// TEST_CASE_TEMPLATE(name, Kind, STORE_KINDS) runs against both.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include <stepline/host/store/job_store.hpp>
#include <stepline/host/store/record_store.hpp>
#include <stepline/host/store/store.hpp>

#include "pipeline/fixture.hpp"
#include "testkit/postgres.hpp"

namespace stepline::test {

struct SqliteKind {
  static constexpr const char* name = "sqlite";
  TempFolder data;
  host::store::Location location() const {
    return host::store::Location::sqlite(data.path() / "stepline.db");
  }
  /// Makes the store's schema newer than this build's, as a newer stepline would leave it.
  void make_schema_newer() const {
    sqlite3* db = nullptr;
    sqlite3_open(location().file.c_str(), &db);
    sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
};

struct PostgresKind {
  static constexpr const char* name = "postgresql";
  TempFolder data;
  std::string database = "d" + std::to_string(next());
  std::string url = shared_postgres().create_database(database);
  host::store::Location location() const {
    return host::store::Location::postgresql(url, "host.store.postgresql at test.yaml:1:1",
                                             data.path());
  }
  void make_schema_newer() const {
    shared_postgres().sql(database, "UPDATE stepline_schema SET version = 99");
  }

 private:
  static int next() {
    static int n = 0;
    return ++n;
  }
};

#define STORE_KINDS ::stepline::test::SqliteKind, ::stepline::test::PostgresKind

/// A record store and a job store on one store of kind `Kind`, as a host has them.
template <class Kind>
struct Stores : Kind {
  std::unique_ptr<host::store::RecordStore> records = host::store::open_records(this->location());
  std::unique_ptr<host::store::JobStore> jobs = host::store::open_jobs(this->location());
};

}  // namespace stepline::test
