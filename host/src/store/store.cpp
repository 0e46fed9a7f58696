// The store component's own parts, whatever the kind of store: the record store's errors and
// ids, the store's location, and opening the implementation it names.
#include <stepline/host/store/store.hpp>

#include <sqlite3.h>

#include <chrono>

#include <stepline/host/store/job_store.hpp>
#include <stepline/host/store/sqlite_job_store.hpp>
#include <stepline/host/store/sqlite_record_store.hpp>

#include "schema.hpp"
#include "sqlite.hpp"

namespace stepline::host::store {

RecordNotFound::RecordNotFound(std::string_view entity, const Guid& id)
    : std::runtime_error(std::string(entity) + " with id " + id.str() + " does not exist") {}

DuplicateRecord::DuplicateRecord(std::string_view entity, const Guid& id)
    : std::runtime_error("a record " + std::string(entity) + " with id " + id.str() +
                         " already exists; leave the id out to have one generated") {}

Guid time_ordered_guid() {
  auto bytes = Guid::random().bytes();
  const auto ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  for (std::size_t i = 0; i < 6; ++i) bytes[i] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x70);  // version 7; variant as random's
  return Guid(bytes);
}

Location Location::sqlite(const std::filesystem::path& file) {
  Location where;
  where.kind = Kind::sqlite;
  where.file = file;
  where.data_folder = file.parent_path();
  return where;
}

Location Location::of(const registration::HostSettings& host) {
  auto folder = host.data_folder.empty() ? std::filesystem::path("data") : host.data_folder;
  return sqlite(folder / "stepline.db");
}

std::string Location::describe() const {
  return file.string();
}

std::filesystem::path Location::attempts_folder() const {
  return file.parent_path() / (file.filename().string() + "-attempts");
}

std::unique_ptr<RecordStore> open_records(const Location& where, Durability durability) {
  return std::make_unique<SqliteRecordStore>(where.file, durability);
}

std::unique_ptr<jobs::JobStore> open_jobs(const Location& where, Durability durability) {
  return std::make_unique<SqliteJobStore>(where.file, durability);
}

Migration migrate(const Location& where) {
  Migration done;
  sqlite3* db = open_database(where.file, Durability::normal, &done.from);
  sqlite3_close(db);
  done.to = schema::version;
  return done;
}

}  // namespace stepline::host::store
