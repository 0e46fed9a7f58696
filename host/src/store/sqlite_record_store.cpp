#include <stepline/host/store/sqlite_record_store.hpp>

#include <linux/futex.h>
#include <sqlite3.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <ctime>

#include <stepline/format/json.hpp>

#include "context_log.hpp"
#include "job_row.hpp"
#include "record_row.hpp"
#include "schema.hpp"
#include "sqlite.hpp"

namespace stepline::host::store {
namespace {

// The commit groups' waiting, on the futex word itself (Linux): a condition variable would wake
// every waiter into a queue for its mutex, one after the other.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t seen,
                std::chrono::nanoseconds timeout) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
  // Returns at once if the word is no longer `seen`; EINTR and timeouts are the caller's loop's.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, seen, &ts,
          nullptr, 0);
}

void futex_wake_all(std::atomic<std::uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
          nullptr, 0);
}

/// SQLite's JSON path to the top-level key `column`, which names_plainly() accepts (SQLite reads
/// no escapes in a quoted label, so a name it refuses cannot be spelled here at all).
std::string quote_json_key(std::string_view column) {
  return "$.\"" + std::string(column) + "\"";
}

}  // namespace

struct SqliteRecordStore::Statements {
  explicit Statements(sqlite3* db)
      : insert(db,
               "INSERT INTO records (entity, id, attributes, created_on, modified_on) VALUES (?1, "
               "?2, ?3, ?4, ?4)"),
        select(db, "SELECT attributes, version FROM records WHERE entity = ?1 AND id = ?2"),
        update(db,
               "UPDATE records SET attributes = ?3, modified_on = ?4, version = version + 1 WHERE "
               "entity = ?1 AND id = ?2"),
        remove(db, "DELETE FROM records WHERE entity = ?1 AND id = ?2"),
        insert_job(db, insert_job_sql),
        begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT"),
        savepoint(db, "SAVEPOINT op"),
        release(db, "RELEASE op") {}
  Statement insert, select, update, remove, insert_job;
  // A commit group's and its outermost operations' transaction control, once per operation.
  Statement begin, commit, savepoint, release;
  // merge[n]: the update that sets n named attributes inside the stored document (merge_sql),
  // prepared when first needed.
  std::array<std::optional<Statement>, 9> merge;
};

namespace {

/// An update that sets `n` attributes in place: json_set inserts or replaces each (?4 a path,
/// ?5 the value's JSON text, and so on), so the stored document is not read back and written
/// whole. ?3 is the time.
std::string merge_sql(std::size_t n) {
  std::string set = "attributes";
  if (n > 0) {
    set = "json_set(attributes";
    for (std::size_t i = 0; i < n; ++i) {
      const auto at = 4 + 2 * i;
      set += ", ?" + std::to_string(at) + ", json(?" + std::to_string(at + 1) + ")";
    }
    set += ")";
  }
  return "UPDATE records SET attributes = " + set +
         ", modified_on = ?3, version = version + 1 WHERE entity = ?1 AND id = ?2";
}

/// True when SQLite's JSON path can name `column` as the document holds it: a quoted label is
/// compared with the key's bytes as written, with no escapes in either, so a name that JSON
/// must escape (a quote, a backslash, a control character) cannot be named that way.
bool names_plainly(std::string_view column) {
  return std::none_of(column.begin(), column.end(), [](char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  });
}

// As long as SQLite's busy timeout on the record store's connection.
constexpr std::chrono::milliseconds operation_write_wait{5000};
}  // namespace

/// A write outside any Transaction is its own transaction: it commits an open group first, then
/// takes the write gate for itself.
class SqliteRecordStore::StandaloneWrite {
 public:
  explicit StandaloneWrite(SqliteRecordStore& store) {
    if (store.open_transactions_ != 0) return;
    store.settle_open_group();
    turn_.emplace(*store.gate_, operation_write_wait, store.file_);
  }

 private:
  std::optional<GateTurn> turn_;
};

SqliteRecordStore::SqliteRecordStore(const std::filesystem::path& file, Durability durability)
    : file_(file),
      location_(Location::sqlite(file)),
      durability_(durability),
      db_(open_database(file, durability)),
      gate_(WriteGate::of(file)),
      contexts_(ContextLog::of(file)) {
  try {
    statements_ = std::make_unique<Statements>(db_);
  } catch (const std::exception& e) {
    sqlite3_close(db_);
    throw std::runtime_error("record store " + file.string() + ": " + e.what());
  }
}

SqliteRecordStore::~SqliteRecordStore() {
  {
    std::lock_guard lock(mutex_);
    settle_open_group();
  }
  statements_.reset();
  sqlite3_close(db_);
}

int SqliteRecordStore::schema_version() const {
  return schema::version;
}

void SqliteRecordStore::exec(const char* sql) {
  store::exec(db_, sql);
}

// Commit groups. The group's database transaction holds the file's write gate from its BEGIN to
// its COMMIT; every operation in it is the savepoint "op", released into the group when the
// operation commits. The store's lock passes from operation to operation while the group stays
// open, so the workers and other writers wait at the gate for one commit, not one per operation.

bool SqliteRecordStore::attach_handoff(JobHandoff& handoff) {
  std::lock_guard lock(mutex_);
  if (handoff_ && handoff_ != &handoff) return false;
  settle_open_group();
  std::lock_guard room(handoff_room_mutex_);
  handoff_ = &handoff;
  return true;
}

HandoffRoom SqliteRecordStore::handoff_room() {
  // Not under the store's lock: every operation asks before it starts, and the lock is held by
  // the one in progress.
  std::lock_guard lock(handoff_room_mutex_);
  return handoff_ ? handoff_->room() : HandoffRoom{};
}

void SqliteRecordStore::detach_handoff(JobHandoff& handoff) {
  std::lock_guard lock(mutex_);
  if (handoff_ != &handoff) return;
  settle_open_group();
  std::lock_guard room(handoff_room_mutex_);
  handoff_ = nullptr;
}

void SqliteRecordStore::drop_claimed(int depth) {
  auto first = std::remove_if(claimed_.begin(), claimed_.end(),
                              [&](const auto& c) { return c.first >= depth; });
  auto dropped = static_cast<std::size_t>(claimed_.end() - first);
  claimed_.erase(first, claimed_.end());
  if (dropped && handoff_) handoff_->abandoned(dropped);
}

void SqliteRecordStore::promote_claimed(int depth) {
  for (auto& c : claimed_)
    if (c.first >= depth) c.first = depth - 1;
}

void SqliteRecordStore::settle_open_group() {
  if (group_open_ && open_transactions_ == 0) settle_group(false);
}

SqliteRecordStore::GroupFailure SqliteRecordStore::settle_group(bool member) {
  GroupFailure failure;
  if (group_size_ > 0 && sqlite3_get_autocommit(db_)) {
    // SQLite rolled the whole transaction back after an error (disk full, I/O error).
    contexts_->drop_staged();
    failure.disk_full = disk_full(db_);
    failure.message = failure.disk_full ? disk_full_message(db_)
                                        : "the database rolled back the transaction: " +
                                              std::string(sqlite3_errmsg(db_));
  } else if (group_size_ == 0) {
    contexts_->drop_staged();
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  } else {
    try {
      // The contexts reach the file (and the disk, with Durability::full) before the rows that
      // say where they are.
      contexts_->write_staged(durability_ == Durability::full);
      statements_->commit.run();
      commits_.fetch_add(1, std::memory_order_relaxed);
    } catch (const StorageFull&) {
      failure = {disk_full_message(db_), true};
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    } catch (const std::exception& e) {
      failure = {e.what(), false};
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  if (!claimed_.empty() && handoff_) {
    if (failure.message.empty()) {
      std::vector<SystemJob> jobs;
      jobs.reserve(claimed_.size());
      for (auto& c : claimed_) jobs.push_back(std::move(c.second));
      handoff_->committed(std::move(jobs));
    } else {
      handoff_->abandoned(claimed_.size());
    }
  }
  claimed_.clear();
  const int waiters = group_size_ - (member ? 1 : 0);
  {
    std::lock_guard lock(settled_mutex_);
    if (!failure.message.empty() && waiters > 0) {
      failed_groups_[group_] = {waiters, failure};
      failed_groups_count_.fetch_add(1);
    }
    settled_word_.store(static_cast<std::uint32_t>(group_));
  }
  ++group_;
  group_open_ = false;
  group_size_ = 0;
  gate_->leave();
  // One system call wakes every operation of the group, and none of them takes a lock to see
  // that it was settled.
  if (waiters > 0 && group_waiters_.load() > 0) futex_wake_all(settled_word_);
  return failure;
}

bool SqliteRecordStore::group_settled(std::uint64_t group) const noexcept {
  // The low 32 bits, compared as a distance: fewer than 2^31 groups are ever open at once.
  return static_cast<std::int32_t>(settled_word_.load() - static_cast<std::uint32_t>(group)) >= 0;
}

SqliteRecordStore::GroupFailure SqliteRecordStore::wait_for_group(
    std::unique_lock<std::recursive_mutex>& lock, std::uint64_t group,
    std::chrono::microseconds patience) {
  lock.unlock();
  const auto give_up = std::chrono::steady_clock::now() + patience;
  group_waiters_.fetch_add(1);
  bool settled = group_settled(group);
  while (!settled) {
    const auto left = give_up - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) break;
    const std::uint32_t seen = settled_word_.load();
    if (group_settled(group)) {
      settled = true;
      break;
    }
    futex_wait(settled_word_, seen, std::chrono::duration_cast<std::chrono::nanoseconds>(left));
    settled = group_settled(group);
  }
  group_waiters_.fetch_sub(1);
  if (!settled) {
    // Nobody settled it in time: settle it ourselves (nobody can be inside it while we hold
    // the store's lock, and groups settle in order, so `group` is the open one).
    lock.lock();
    if (!group_settled(group)) {
      auto failure = settle_group(true);
      lock.unlock();
      return failure;
    }
    lock.unlock();
  }
  if (failed_groups_count_.load() == 0) return {};
  std::lock_guard failures(settled_mutex_);
  auto failed = failed_groups_.find(group);
  if (failed == failed_groups_.end()) return {};
  GroupFailure failure = failed->second.failure;
  if (--failed->second.waiters == 0) {
    failed_groups_.erase(failed);
    failed_groups_count_.fetch_sub(1);
  }
  return failure;
}

/// An outermost Transaction is the savepoint "op" in the group's database transaction, an inner
/// one a savepoint named by its depth. It holds the store's lock (re-entrant for the thread) from
/// its start to its end.
class SqliteRecordStore::Operation final : public RecordStore::Scope {
 public:
  explicit Operation(SqliteRecordStore& store);
  ~Operation() override;
  void commit() override;

 private:
  SqliteRecordStore& store_;
  std::unique_lock<std::recursive_mutex> lock_;
  std::string name_;
  bool done_ = false;
  bool outermost_ = false;
};

std::unique_ptr<RecordStore::Scope> SqliteRecordStore::begin() {
  return std::make_unique<Operation>(*this);
}

SqliteRecordStore::Operation::Operation(SqliteRecordStore& store)
    : store_(store), lock_(store.mutex_, std::defer_lock) {
  store_.waiting_.fetch_add(1, std::memory_order_relaxed);
  lock_.lock();
  store_.waiting_.fetch_sub(1, std::memory_order_relaxed);
  if (store_.open_transactions_ > 0) {
    name_ = "sp" + std::to_string(store_.open_transactions_);
    store_.exec(("SAVEPOINT " + name_).c_str());
    ++store_.open_transactions_;
    return;
  }
  outermost_ = true;
  name_ = "op";
  // An error that made SQLite roll the group's transaction back settles it as failed.
  if (store_.group_open_ && sqlite3_get_autocommit(store_.db_)) store_.settle_group(false);
  if (!store_.group_open_) {
    store_.gate_->enter_or_throw(operation_write_wait, store_.file_);
    try {
      store_.statements_->begin.run();
    } catch (...) {
      store_.gate_->leave();
      throw;
    }
    store_.contexts_->begin();
    store_.group_open_ = true;
  }
  try {
    store_.statements_->savepoint.run();
  } catch (...) {
    // The operations already in the group must not wait for a successor that never comes.
    if (store_.waiting_.load(std::memory_order_relaxed) == 0) store_.settle_group(false);
    throw;
  }
  ++store_.open_transactions_;
}

void SqliteRecordStore::Operation::commit() {
  if (done_) throw std::logic_error("record store: transaction committed twice");
  if (outermost_)
    store_.statements_->release.run();
  else
    store_.exec(("RELEASE " + name_).c_str());
  done_ = true;
  store_.promote_claimed(store_.open_transactions_);
  --store_.open_transactions_;
  if (!outermost_) return;
  ++store_.group_size_;
  if (auto* batch = Batch::of_thread(store_)) {
    // Deferred: the group's commit comes with the batch's settle(), or sooner from others.
    Batch::Deferred deferred{store_.group_, false, std::nullopt};
    if (store_.group_size_ >= group_limit) {
      deferred.settled = true;
      if (auto failure = store_.settle_group(true); !failure.message.empty())
        deferred.failure = store_.operation_failure(std::move(failure));
    }
    batch->defer(std::move(deferred));
    return;
  }
  // Hand the group on to an operation already waiting for the store (it, or one after it,
  // commits for all); wait a moment for operations in progress elsewhere; else commit now.
  // Waiting for a successor is bounded only by its own transaction, which holds the store anyway.
  GroupFailure failure;
  const bool waiting = store_.waiting_.load(std::memory_order_relaxed) > 0;
  // The operations already in the group wait for its commit: only the others may still join.
  const bool others_active = store_.active_operations() > store_.group_size_;
  if (store_.group_size_ >= group_limit || (!waiting && !others_active)) {
    failure = store_.settle_group(true);
  } else {
    failure = store_.wait_for_group(
        lock_, store_.group_,
        waiting ? std::chrono::microseconds(std::chrono::seconds(1)) : commit_delay);
  }
  if (failure.message.empty()) return;
  failure = store_.operation_failure(std::move(failure));
  if (failure.disk_full) throw StorageFull(failure.message);
  throw std::runtime_error(failure.message);
}

SqliteRecordStore::CommitFailure SqliteRecordStore::operation_failure(GroupFailure failure) const {
  failure.message = "record store " + file_.string() +
                    ": the operation's changes were not committed: " + failure.message;
  return failure;
}

void SqliteRecordStore::settle_deferred(std::vector<Batch::Deferred>& deferred) {
  for (auto& d : deferred) {
    if (d.settled) continue;
    // Settled by now if an operation of another thread committed it; else no operation can be
    // in it while this holds the lock (each holds it to its end), and it is the open group.
    std::unique_lock lock(mutex_);
    if (auto failure = wait_for_group(lock, d.group, std::chrono::microseconds(0));
        !failure.message.empty())
      d.failure = operation_failure(std::move(failure));
    d.settled = true;
  }
}

SqliteRecordStore::Operation::~Operation() {
  if (done_) return;
  store_.drop_claimed(store_.open_transactions_);
  --store_.open_transactions_;
  try {
    store_.exec(("ROLLBACK TO " + name_ + "; RELEASE " + name_).c_str());
  } catch (...) {
    // Nothing sensible to do in a destructor; SQLite rolls back a failed transaction itself.
  }
  // The group's operations that wait for it must not wait for a successor that may not come;
  // a thread's Batch settles it itself, later (unless SQLite already rolled it back).
  if (outermost_ && store_.group_open_ &&
      (sqlite3_get_autocommit(store_.db_) ||
       (store_.waiting_.load(std::memory_order_relaxed) == 0 && !Batch::of_thread(store_))))
    store_.settle_group(false);
}

Guid SqliteRecordStore::create(const Entity& entity) {
  std::lock_guard lock(mutex_);
  StandaloneWrite write(*this);
  Guid id = entity.id.is_nil() ? time_ordered_guid() : entity.id;
  auto now = to_iso8601(now_utc());
  auto& s = statements_->insert.start();
  s.bind(1, entity.logical_name)
      .bind(2, id.str())
      .bind(3, format::json::write_parameters(entity.attributes))
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

std::optional<Entity> SqliteRecordStore::retrieve(std::string_view entity, const Guid& id,
                                                  const ColumnSet& columns) {
  std::lock_guard lock(mutex_);
  settle_open_group();
  auto& s = statements_->select.start();
  const auto id_text = id.text();
  s.bind(1, entity).bind_static(2, id_text.view());
  if (!s.step()) return std::nullopt;
  Entity e = decode_record(entity, id, s.text(0), s.integer(1));
  s.done();
  return restrict_columns(std::move(e), columns);
}

void SqliteRecordStore::update(const Entity& entity) {
  std::lock_guard lock(mutex_);
  StandaloneWrite write(*this);
  // Bound without SQLite's copies: each lives until the statement is done.
  const auto id = entity.id.text();
  const auto now = iso8601_text(now_utc());
  const auto& named = entity.attributes;
  if (named.size() < statements_->merge.size() &&
      std::all_of(named.begin(), named.end(),
                  [](const auto& a) { return names_plainly(a.first); })) {
    // The usual update: a few attributes with plain names, set in the stored document.
    auto& slot = statements_->merge[named.size()];
    if (!slot) slot.emplace(db_, merge_sql(named.size()));
    std::vector<std::string> texts;  // paths and values, alive until the statement is done
    texts.reserve(2 * named.size());
    auto& s = slot->start();
    s.bind(1, entity.logical_name).bind_static(2, id.view()).bind_static(3, now.view());
    int at = 4;
    for (const auto& [column, value] : named) {
      texts.push_back(quote_json_key(column));
      s.bind_static(at++, texts.back());
      texts.push_back(format::json::write_value(value));
      s.bind_static(at++, texts.back());
    }
    s.step();
    s.done();
    if (sqlite3_changes(db_) == 0) throw RecordNotFound(entity.logical_name, entity.id);
    return;
  }
  auto current = retrieve(entity.logical_name, entity.id, ColumnSet::all());
  if (!current) throw RecordNotFound(entity.logical_name, entity.id);
  for (const auto& [k, v] : entity.attributes) current->attributes.insert_or_assign(k, v);
  const std::string attributes = format::json::write_parameters(current->attributes);
  auto& s = statements_->update.start();
  s.bind(1, entity.logical_name)
      .bind_static(2, id.view())
      .bind_static(3, attributes)
      .bind_static(4, now.view());
  s.step();
  s.done();
}

void SqliteRecordStore::remove(std::string_view entity, const Guid& id) {
  std::lock_guard lock(mutex_);
  StandaloneWrite write(*this);
  auto& s = statements_->remove.start();
  s.bind(1, entity).bind(2, id.str());
  s.step();
  s.done();
  if (sqlite3_changes(db_) == 0) throw RecordNotFound(entity, id);
}

EntityCollection SqliteRecordStore::retrieve_multiple(const Query& query) {
  if (query.page_size < 0 || query.page_number < 1)
    throw std::invalid_argument("RetrieveMultiple: page size must be >= 0 and page number >= 1");
  std::lock_guard lock(mutex_);
  settle_open_group();
  // Conditions on strings, whole numbers and booleans narrow the rows in SQL; every condition is
  // then checked exactly on the decoded record, so the SQL part only has to avoid false negatives.
  // It leaves out a name SQLite's JSON path cannot spell (names_plainly) and text with a NUL,
  // which json_extract cuts short.
  auto narrows = [](const std::string& column, const Value& value) {
    auto k = value.kind();
    if (k != ValueKind::string && k != ValueKind::integer && k != ValueKind::boolean) return false;
    if (k == ValueKind::string && value.as<std::string>().find('\0') != std::string::npos)
      return false;
    return names_plainly(column);
  };
  std::string sql = "SELECT id, attributes, version FROM records WHERE entity = ?1";
  // The conditions that narrow in SQL, each with its first parameter. A few narrow enough; a
  // statement with hundreds would pass SQLite's limit on an expression's depth (1,000) and
  // could not be prepared.
  constexpr std::size_t most_narrowing = 16;
  std::vector<std::pair<int, const std::pair<std::string, Value>*>> binds;
  int next = 2;
  for (const auto& condition : query.conditions) {
    if (binds.size() == most_narrowing) break;
    if (!narrows(condition.first, condition.second)) continue;
    sql += " AND json_extract(attributes, ?" + std::to_string(next) + ") = ?" +
           std::to_string(next + 1);
    binds.emplace_back(next, &condition);
    next += 2;
  }
  sql += " ORDER BY seq";
  const std::size_t skip =
      query.page_size == 0 ? 0
                           : static_cast<std::size_t>(query.page_size) * (query.page_number - 1);
  // Without conditions every row matches: SQLite steps over the earlier pages' rows itself,
  // instead of their records being read and decoded only to be passed over.
  const bool skipped_in_sql = query.conditions.empty() && skip > 0;
  if (skipped_in_sql) sql += " LIMIT -1 OFFSET ?" + std::to_string(next);
  Statement s(db_, sql);
  s.start().bind(1, query.entity_name);
  if (skipped_in_sql) s.bind(next, static_cast<long long>(skip));
  for (const auto& [at, condition] : binds) {
    const auto& [column, value] = *condition;
    const auto k = value.kind();
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
  const std::size_t skip_here = skipped_in_sql ? 0 : skip;
  std::size_t matched = 0;
  std::size_t bytes = 0;  // what the page holds, about (max_page_bytes)
  while (s.step()) {
    Entity e = decode_record(query.entity_name, Guid::parse(s.text(0)), s.text(1), s.integer(2));
    bool match = true;
    for (const auto& [column, value] : query.conditions) {
      if (!meets(e.get(column), value)) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    if (matched++ < skip_here) continue;
    if (query.page_size > 0 && out.entities.size() == static_cast<std::size_t>(query.page_size)) {
      out.more_records = true;
      out.paging_cookie = std::to_string(query.page_number + 1);
      break;
    }
    out.entities.push_back(restrict_columns(std::move(e), query.columns));
    bytes += footprint(out.entities.back());
    if (bytes > max_page_bytes) throw PageTooLarge(query.entity_name, out.entities.size());
  }
  s.done();
  return out;
}

void SqliteRecordStore::add_system_job(SystemJob job) {
  std::lock_guard lock(mutex_);
  StandaloneWrite write(*this);
  // Only a job written in an operation's transaction is handed over at its commit.
  const bool standalone = open_transactions_ == 0;
  const bool claimed = handoff_ && !standalone && handoff_->claim(job);
  try {
    // A job written outside an operation is a transaction of its own, so that its row and its
    // context are written together.
    if (standalone) {
      statements_->begin.run();
      contexts_->begin();
    }
    try {
      NewJobText text;
      auto& s = statements_->insert_job.start();
      bind_new_job(s, job, text);
      const auto place = contexts_->stage(text.id, job.context);
      s.bind(23, place.at).bind(24, place.size);
      s.step();
      job.sequence = sqlite3_last_insert_rowid(db_);
      s.done();
      if (standalone) {
        contexts_->write_staged(durability_ == Durability::full);
        statements_->commit.run();
      }
    } catch (...) {
      if (standalone) {
        contexts_->drop_staged();
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      }
      throw;
    }
  } catch (...) {
    if (claimed) handoff_->abandoned(1);
    throw;
  }
  if (claimed) claimed_.emplace_back(open_transactions_, std::move(job));
}

std::vector<SystemJob> SqliteRecordStore::system_jobs() {
  std::lock_guard lock(mutex_);
  settle_open_group();
  Statement s(db_, std::string("SELECT ") + job_columns + " FROM system_jobs ORDER BY sequence");
  s.start();
  std::vector<SystemJob> out;
  while (s.step()) out.push_back(read_job(s));
  return out;
}

}  // namespace stepline::host::store
