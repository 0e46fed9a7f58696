#include <stepline/host/record_store.hpp>

#include <sqlite3.h>

#include "json_codec.hpp"
#include "schema.hpp"

namespace stepline::host {
namespace {

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) !=
        SQLITE_OK)
      throw std::runtime_error(std::string("record store: cannot prepare statement: ") +
                               sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Resets and clears bindings; returns *this for chaining binds.
  Statement& start() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return *this;
  }
  Statement& bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, long long n) {
    sqlite3_bind_int64(stmt_, i, n);
    return *this;
  }
  Statement& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  /// True while a row is available.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_reset(stmt_);
    throw std::runtime_error("record store: " + msg);
  }
  std::string_view text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string_view(p, sqlite3_column_bytes(stmt_, col)) : std::string_view();
  }
  long long integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  void done() { sqlite3_reset(stmt_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

std::string quote_json_key(std::string_view column) {
  std::string out = "$.\"";
  for (char c : column) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Entity decode_record(std::string_view entity, std::string_view id, std::string_view attributes,
                     long long version) {
  Entity e(std::string(entity), Guid::parse(id));
  e.attributes = codec::read_parameters(attributes);
  e.row_version = std::to_string(version);
  return e;
}

Entity restrict_columns(Entity e, const ColumnSet& columns) {
  if (columns.all_columns) return e;
  return e.project(columns.columns);
}

}  // namespace

struct RecordStore::Statements {
  explicit Statements(sqlite3* db)
      : insert(db,
               "INSERT INTO records (entity, id, attributes, created_on, modified_on) VALUES (?1, "
               "?2, ?3, ?4, ?4)"),
        select(db, "SELECT attributes, version FROM records WHERE entity = ?1 AND id = ?2"),
        update(db,
               "UPDATE records SET attributes = ?3, modified_on = ?4, version = version + 1 WHERE "
               "entity = ?1 AND id = ?2"),
        remove(db, "DELETE FROM records WHERE entity = ?1 AND id = ?2"),
        insert_job(
            db,
            "INSERT INTO system_jobs (id, created_on, step_id, step_name, regarding_entity, "
            "regarding_id, "
            "message, depth, correlation_id, state_code, status_code, retry_count, postpone_until, "
            "error_code, message_text, friendly_message, execution_time_ms, endpoint, context) "
            "VALUES "
            "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
            "?19)") {}
  Statement insert, select, update, remove, insert_job;
};

RecordNotFound::RecordNotFound(std::string_view entity, const Guid& id)
    : std::runtime_error(std::string(entity) + " with id " + id.str() + " does not exist") {}

DuplicateRecord::DuplicateRecord(std::string_view entity, const Guid& id)
    : std::runtime_error("a record " + std::string(entity) + " with id " + id.str() +
                         " already exists; leave the id out to have one generated") {}

RecordStore::RecordStore(const std::filesystem::path& file, Durability durability) : file_(file) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  if (sqlite3_open_v2(file.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("record store " + file.string() + ": cannot open: " + msg +
                             " (check that the data folder exists and is writable)");
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec(durability == Durability::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    Statement version(db_, "PRAGMA user_version");
    version.step();
    long long found = version.integer(0);
    version.done();
    if (found > store_schema::version)
      throw std::runtime_error("schema version " + std::to_string(found) +
                               " is newer than this build's " +
                               std::to_string(store_schema::version) + "; use a newer stepline");
    exec(store_schema::sql);
    exec(("PRAGMA user_version=" + std::to_string(store_schema::version)).c_str());
    statements_ = std::make_unique<Statements>(db_);
  } catch (const std::exception& e) {
    statements_.reset();
    sqlite3_close(db_);
    throw std::runtime_error("record store " + file.string() + ": " + e.what());
  }
}

RecordStore::~RecordStore() {
  statements_.reset();
  sqlite3_close(db_);
}

int RecordStore::schema_version() noexcept {
  return store_schema::version;
}

void RecordStore::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string msg = error ? error : "unknown error";
    sqlite3_free(error);
    throw std::runtime_error("record store: " + msg);
  }
}

RecordStore::Transaction::Transaction(RecordStore& store) : store_(store), lock_(store.mutex_) {
  if (store_.open_transactions_ == 0) {
    store_.exec("BEGIN IMMEDIATE");
  } else {
    name_ = "sp" + std::to_string(store_.open_transactions_);
    store_.exec(("SAVEPOINT " + name_).c_str());
  }
  ++store_.open_transactions_;
}

void RecordStore::Transaction::commit() {
  if (done_) throw std::logic_error("record store: transaction committed twice");
  store_.exec(name_.empty() ? "COMMIT" : ("RELEASE " + name_).c_str());
  done_ = true;
  --store_.open_transactions_;
}

RecordStore::Transaction::~Transaction() {
  if (done_) return;
  --store_.open_transactions_;
  try {
    if (name_.empty())
      store_.exec("ROLLBACK");
    else
      store_.exec(("ROLLBACK TO " + name_ + "; RELEASE " + name_).c_str());
  } catch (...) {
    // Nothing sensible to do in a destructor; SQLite rolls back a failed transaction itself.
  }
}

Guid RecordStore::create(const Entity& entity) {
  std::lock_guard lock(mutex_);
  Guid id = entity.id.is_nil() ? Guid::random() : entity.id;
  auto now = to_iso8601(now_utc());
  auto& s = statements_->insert.start();
  s.bind(1, entity.logical_name)
      .bind(2, id.str())
      .bind(3, codec::write_parameters(entity.attributes))
      .bind(4, now);
  try {
    s.step();
  } catch (const std::runtime_error&) {
    if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE)
      throw DuplicateRecord(entity.logical_name, id);
    throw;
  }
  s.done();
  return id;
}

std::optional<Entity> RecordStore::retrieve(std::string_view entity, const Guid& id,
                                            const ColumnSet& columns) {
  std::lock_guard lock(mutex_);
  auto& s = statements_->select.start();
  auto id_text = id.str();
  s.bind(1, entity).bind(2, id_text);
  if (!s.step()) return std::nullopt;
  Entity e = decode_record(entity, id_text, s.text(0), s.integer(1));
  s.done();
  return restrict_columns(std::move(e), columns);
}

void RecordStore::update(const Entity& entity) {
  std::lock_guard lock(mutex_);
  auto current = retrieve(entity.logical_name, entity.id, ColumnSet::all());
  if (!current) throw RecordNotFound(entity.logical_name, entity.id);
  for (const auto& [k, v] : entity.attributes) current->attributes.insert_or_assign(k, v);
  auto& s = statements_->update.start();
  s.bind(1, entity.logical_name)
      .bind(2, entity.id.str())
      .bind(3, codec::write_parameters(current->attributes));
  s.bind(4, to_iso8601(now_utc()));
  s.step();
  s.done();
}

void RecordStore::remove(std::string_view entity, const Guid& id) {
  std::lock_guard lock(mutex_);
  auto& s = statements_->remove.start();
  s.bind(1, entity).bind(2, id.str());
  s.step();
  s.done();
  if (sqlite3_changes(db_) == 0) throw RecordNotFound(entity, id);
}

EntityCollection RecordStore::retrieve_multiple(const Query& query) {
  if (query.page_size < 0 || query.page_number < 1)
    throw std::invalid_argument("RetrieveMultiple: page size must be >= 0 and page number >= 1");
  std::lock_guard lock(mutex_);
  // Conditions on strings, whole numbers and booleans narrow the rows in SQL; every condition is
  // then checked exactly on the decoded record, so the SQL part only has to avoid false negatives.
  std::string sql = "SELECT id, attributes, version FROM records WHERE entity = ?1";
  std::vector<std::pair<int, const Value*>> binds;
  int next = 2;
  for (const auto& [column, value] : query.conditions) {
    auto k = value.kind();
    if (k != ValueKind::string && k != ValueKind::integer && k != ValueKind::boolean) continue;
    sql += " AND json_extract(attributes, ?" + std::to_string(next) + ") = ?" +
           std::to_string(next + 1);
    binds.emplace_back(next, &value);
    next += 2;
  }
  sql += " ORDER BY seq";
  Statement s(db_, sql);
  s.start().bind(1, query.entity_name);
  std::size_t i = 0;
  for (const auto& [column, value] : query.conditions) {
    auto k = value.kind();
    if (k != ValueKind::string && k != ValueKind::integer && k != ValueKind::boolean) continue;
    int at = binds[i++].first;
    s.bind(at, quote_json_key(column));
    if (k == ValueKind::string)
      s.bind(at + 1, value.as<std::string>());
    else if (k == ValueKind::integer)
      s.bind(at + 1, static_cast<long long>(value.as<std::int32_t>()));
    else
      s.bind(at + 1, static_cast<long long>(value.as<bool>() ? 1 : 0));
  }

  EntityCollection out;
  out.entity_name = query.entity_name;
  const std::size_t skip =
      query.page_size == 0 ? 0
                           : static_cast<std::size_t>(query.page_size) * (query.page_number - 1);
  std::size_t matched = 0;
  while (s.step()) {
    Entity e = decode_record(query.entity_name, s.text(0), s.text(1), s.integer(2));
    bool match = true;
    for (const auto& [column, value] : query.conditions) {
      if (!(e.get(column) == value)) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    if (matched++ < skip) continue;
    if (query.page_size > 0 && out.entities.size() == static_cast<std::size_t>(query.page_size)) {
      out.more_records = true;
      out.paging_cookie = std::to_string(query.page_number + 1);
      break;
    }
    out.entities.push_back(restrict_columns(std::move(e), query.columns));
  }
  s.done();
  return out;
}

void RecordStore::add_system_job(const SystemJob& job) {
  std::lock_guard lock(mutex_);
  auto& s = statements_->insert_job.start();
  s.bind(1, job.id.str())
      .bind(2, to_iso8601(job.created_on))
      .bind(3, job.step_id.str())
      .bind(4, job.step_name);
  s.bind(5, job.regarding_entity).bind(6, job.regarding_id.str()).bind(7, job.message);
  s.bind(8, static_cast<long long>(job.depth)).bind(9, job.correlation_id.str());
  s.bind(10, static_cast<long long>(job.state_code))
      .bind(11, static_cast<long long>(job.status_code));
  s.bind(12, static_cast<long long>(job.retry_count));
  if (job.postpone_until) s.bind(13, to_iso8601(*job.postpone_until));
  if (job.error_code) s.bind(14, static_cast<long long>(*job.error_code));
  if (!job.message_text.empty()) s.bind(15, job.message_text);
  if (!job.friendly_message.empty()) s.bind(16, job.friendly_message);
  if (job.execution_time_ms) s.bind(17, *job.execution_time_ms);
  if (job.endpoint) s.bind(18, *job.endpoint);
  s.bind(19, job.context);
  s.step();
  s.done();
}

std::vector<SystemJob> RecordStore::system_jobs() {
  std::lock_guard lock(mutex_);
  Statement s(
      db_,
      "SELECT id, created_on, step_id, step_name, regarding_entity, regarding_id, message, depth, "
      "correlation_id, state_code, status_code, retry_count, postpone_until, error_code, "
      "message_text, "
      "friendly_message, execution_time_ms, endpoint, context FROM system_jobs ORDER BY "
      "created_on, rowid");
  s.start();
  std::vector<SystemJob> out;
  auto time_of = [](std::string_view t) { return parse_iso8601(t).value_or(DateTime{}); };
  while (s.step()) {
    SystemJob j;
    j.id = Guid::parse(s.text(0));
    j.created_on = time_of(s.text(1));
    j.step_id = Guid::parse(s.text(2));
    j.step_name = s.text(3);
    j.regarding_entity = s.text(4);
    if (auto g = Guid::try_parse(s.text(5))) j.regarding_id = *g;
    j.message = s.text(6);
    j.depth = static_cast<int>(s.integer(7));
    j.correlation_id = Guid::parse(s.text(8));
    j.state_code = static_cast<int>(s.integer(9));
    j.status_code = static_cast<int>(s.integer(10));
    j.retry_count = static_cast<int>(s.integer(11));
    if (!s.is_null(12)) j.postpone_until = time_of(s.text(12));
    if (!s.is_null(13)) j.error_code = static_cast<int>(s.integer(13));
    j.message_text = s.text(14);
    j.friendly_message = s.text(15);
    if (!s.is_null(16)) j.execution_time_ms = s.integer(16);
    if (!s.is_null(17)) j.endpoint = std::string(s.text(17));
    j.context = s.text(18);
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace stepline::host
