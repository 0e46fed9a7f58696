// The store component's own parts, whatever the kind of store: the record store's errors, ids
// and rows read back, the store's location, and opening the implementation it names.
#include <stepline/host/store/store.hpp>

#include <sqlite3.h>

#include <chrono>

#include <stepline/format/json.hpp>
#include <stepline/host/log.hpp>
#include <stepline/host/store/job_store.hpp>
#include <stepline/host/store/sqlite_job_store.hpp>
#include <stepline/host/store/sqlite_record_store.hpp>
#include <stepline/text.hpp>

#include "context_log.hpp"
#include "record_row.hpp"
#include "schema.hpp"
#include "sqlite.hpp"
#ifdef STEPLINE_WITH_POSTGRESQL
#include "postgres/job_store.hpp"
#include "postgres/migrate.hpp"
#include "postgres/record_store.hpp"
#endif

namespace stepline::host::store {

RecordNotFound::RecordNotFound(std::string_view entity, const Guid& id)
    : std::runtime_error(std::string(entity) + " with id " + id.str() + " does not exist") {}

UnstorableText::UnstorableText(std::string_view entity, std::string_view attribute)
    : std::invalid_argument(std::string(entity) + " attribute '" + text::printable(attribute) +
                            "' holds a NUL character (U+0000), which a PostgreSQL store cannot "
                            "keep (jsonb refuses it); send the text without it") {}

PageTooLarge::PageTooLarge(std::string_view entity, std::size_t records)
    : std::invalid_argument(
          "RetrieveMultiple of " + text::printable(entity) + ": the page would hold more than " +
          std::to_string(max_page_bytes >> 20) + " MiB of records (it reached that at record " +
          std::to_string(records) +
          "); ask for fewer records a page (PageSize; over HTTP, "
          "Prefer: odata.maxpagesize or $top)") {}

std::size_t footprint(const Entity& record) {
  std::size_t bytes = record.logical_name.size() + 16;
  for (const auto& [name, value] : record.attributes) {
    bytes += name.size();
    if (const auto* text = value.get_if<std::string>())
      bytes += text->size();
    else if (const auto* nested = value.get_if<Entity>())
      bytes += footprint(*nested);
    else if (const auto* many = value.get_if<EntityCollection>())
      for (const auto& e : many->entities) bytes += footprint(e);
    else
      bytes += 16;
  }
  return bytes;
}

DuplicateRecord::DuplicateRecord(std::string_view entity, const Guid& id)
    : std::runtime_error("a record " + std::string(entity) + " with id " + id.str() +
                         " already exists; leave the id out to have one generated") {}

namespace {

/// A decimal's text without what does not change its number: a '+', leading zeros, trailing
/// zeros of the fraction, a '.' with nothing after it, the sign of zero.
std::string number_of(const Decimal& d) {
  std::string_view t = d.str();
  const bool negative = !t.empty() && t.front() == '-';
  if (!t.empty() && (t.front() == '-' || t.front() == '+')) t.remove_prefix(1);
  if (auto dot = t.find('.'); dot != std::string_view::npos) {
    while (t.back() == '0') t.remove_suffix(1);
    if (t.back() == '.') t.remove_suffix(1);
  }
  while (t.size() > 1 && t.front() == '0' && t[1] != '.') t.remove_prefix(1);
  if (t == "0" || t.empty()) return "0";
  return (negative ? "-" : "") + std::string(t);
}

}  // namespace

bool meets(const Value& stored, const Value& condition) {
  if (const auto* a = stored.get_if<Money>())
    if (const auto* b = condition.get_if<Money>())
      return number_of(a->value) == number_of(b->value);
  if (const auto* a = stored.get_if<Decimal>())
    if (const auto* b = condition.get_if<Decimal>()) return number_of(*a) == number_of(*b);
  return stored == condition;
}

namespace {
// The Batch each thread has opennamespace {
// The Batch each thread has open, innermost first through Batch::enclosing_.
thread_local RecordStore::Batch* open_batch = nullptr;
}  // namespace

RecordStore::Batch::Batch(RecordStore& store) : store_(store), enclosing_(open_batch) {
  if (of_thread(store))
    throw std::logic_error("record store: a thread opened a second Batch on the same store");
  open_batch = this;
}

RecordStore::Batch::~Batch() {
  open_batch = enclosing_;
  try {
    for (const auto& failure : settle())
      if (failure) log::error("{}", failure->message);
  } catch (const std::exception& e) {
    log::error("record store: deferred commits could not be settled: {}", e.what());
  }
}

std::vector<std::optional<RecordStore::CommitFailure>> RecordStore::Batch::settle() {
  store_.settle_deferred(deferred_);
  std::vector<std::optional<CommitFailure>> failures;
  failures.reserve(deferred_.size());
  for (auto& d : deferred_) failures.push_back(std::move(d.failure));
  deferred_.clear();
  return failures;
}

RecordStore::Batch* RecordStore::Batch::of_thread(const RecordStore& store) noexcept {
  for (auto* b = open_batch; b; b = b->enclosing_)
    if (&b->store_ == &store) return b;
  return nullptr;
}

void RecordStore::settle_deferred(std::vector<Batch::Deferred>& deferred) {
  for (auto& d : deferred) d.settled = true;
}

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

Entity decode_record(std::string_view entity, const Guid& id, std::string_view attributes,
                     long long version) {
  Entity e(std::string(entity), id);
  e.attributes = format::json::read_parameters(attributes);
  e.row_version = std::to_string(version);
  return e;
}

Entity restrict_columns(Entity e, const ColumnSet& columns) {
  if (columns.all_columns) return e;
  return e.project(columns.columns);
}

std::string redacted_url(std::string_view url) {
  std::string out(url);
  // postgresql://user:password@host/... : the password goes.
  if (auto scheme = out.find("://"); scheme != std::string::npos) {
    auto authority = scheme + 3;
    auto at = out.find('@', authority);
    auto end = out.find_first_of("/?", authority);
    if (at != std::string::npos && (end == std::string::npos || at < end)) {
      auto colon = out.find(':', authority);
      if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
    }
  }
  // password=... as a query parameter or a key=value pair.
  for (auto at = out.find("password="); at != std::string::npos; at = out.find("password=", at)) {
    auto value = at + 9;
    auto end = out.find_first_of("& ", value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
    at = value;
  }
  return out;
}

Location Location::sqlite(const std::filesystem::path& file) {
  Location where;
  where.kind = Kind::sqlite;
  where.file = file;
  where.data_folder = file.parent_path();
  return where;
}

Location Location::postgresql(std::string url, std::string setting,
                              const std::filesystem::path& data_folder) {
  Location where;
  where.kind = Kind::postgresql;
  where.url = std::move(url);
  where.setting = std::move(setting);
  where.data_folder = data_folder;
  return where;
}

Location Location::of(const registration::HostSettings& host) {
  auto folder = host.data_folder.empty() ? std::filesystem::path("data") : host.data_folder;
  if (host.store.kind == registration::StoreKind::postgresql)
    return postgresql(host.store.url, "host.store.postgresql at " + host.store.where.str(), folder);
  return sqlite(folder / "stepline.db");
}

std::string Location::describe() const {
  if (kind == Kind::sqlite) return file.string();
  return redacted_url(url);
}

std::filesystem::path Location::attempts_folder() const {
  if (kind == Kind::sqlite) return file.parent_path() / (file.filename().string() + "-attempts");
  return data_folder / "stepline-attempts";
}

#ifndef STEPLINE_WITH_POSTGRESQL
namespace {

[[noreturn]] void no_postgresql(const Location& where) {
  throw std::runtime_error(
      where.setting +
      ": this stepline was built without PostgreSQL support (libpq was not found when it was "
      "configured); install Debian's libpq-dev (./dev setup --postgresql) and build it again");
}

}  // namespace
#endif

std::unique_ptr<RecordStore> open_records(const Location& where, Durability durability) {
  if (where.kind == Location::Kind::sqlite)
    return std::make_unique<SqliteRecordStore>(where.file, durability);
#ifdef STEPLINE_WITH_POSTGRESQL
  return std::make_unique<pg::PostgresRecordStore>(where, durability);
#else
  no_postgresql(where);
#endif
}

std::unique_ptr<JobStore> open_jobs(const Location& where, Durability durability) {
  if (where.kind == Location::Kind::sqlite)
    return std::make_unique<SqliteJobStore>(where.file, durability);
#ifdef STEPLINE_WITH_POSTGRESQL
  return std::make_unique<pg::PostgresJobStore>(where, durability);
#else
  no_postgresql(where);
#endif
}

ContextLogUsage context_log_usage(const Location& where) {
  ContextLogUsage usage;
  if (where.kind != Location::Kind::sqlite) return usage;
  auto log = ContextLog::of(where.file);
  for (auto segment : log->segments()) {
    ++usage.segments;
    usage.bytes += static_cast<std::uint64_t>(log->segment_size(segment));
  }
  return usage;
}

Migration migrate(const Location& where) {
  Migration done;
  if (where.kind == Location::Kind::sqlite) {
    sqlite3* db = open_database(where.file, Durability::normal, &done.from);
    sqlite3_close(db);
    done.to = schema::version;
    return done;
  }
#ifdef STEPLINE_WITH_POSTGRESQL
  pg::Connection connection(where.url, "store " + where.describe(), where.setting,
                            Durability::normal, false);
  return pg::bring_up_to_date(connection);
#else
  no_postgresql(where);
#endif
}

}  // namespace stepline::host::store
