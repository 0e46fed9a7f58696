#include "store.hpp"

#include <pthread.h>

#include <filesystem>
#include <stdexcept>

#include <sqlite3.h>

namespace stepline::broker {

Store::Store(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  path_ = (std::filesystem::path(data_dir) / "broker.db").string();
  if (sqlite3_open(path_.c_str(), &db_) != SQLITE_OK) fail("cannot open");
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec(
      "CREATE TABLE IF NOT EXISTS messages (entity TEXT NOT NULL, seq INTEGER NOT NULL, bytes BLOB "
      "NOT NULL, "
      "message_id TEXT, enqueued INTEGER, expires INTEGER, delivery_count INTEGER, deferred "
      "INTEGER, "
      "UNIQUE (entity, seq))");
  exec(
      "CREATE TABLE IF NOT EXISTS events (hub TEXT NOT NULL, partition INTEGER NOT NULL, seq "
      "INTEGER NOT NULL, "
      "offset INTEGER, enqueued INTEGER, bytes BLOB NOT NULL, UNIQUE (hub, partition, seq))");
  insert_ = prepare(
      "INSERT OR REPLACE INTO messages (entity, seq, bytes, message_id, enqueued, expires, "
      "delivery_count, deferred) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  remove_ = prepare("DELETE FROM messages WHERE entity = ? AND seq = ?");
  update_ =
      prepare("UPDATE messages SET delivery_count = ?, deferred = ? WHERE entity = ? AND seq = ?");
  insert_event_ = prepare(
      "INSERT OR REPLACE INTO events (hub, partition, seq, offset, enqueued, bytes) VALUES (?, ?, "
      "?, ?, ?, ?)");
  drop_events_ = prepare("DELETE FROM events WHERE hub = ? AND partition = ? AND seq < ?");
}

Store::~Store() {
  if (writer_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    wake_.notify_all();
    writer_.join();
  }
  for (auto* s : {insert_, remove_, update_, insert_event_, drop_events_}) sqlite3_finalize(s);
  sqlite3_close(db_);
}

void Store::fail(const std::string& what) {
  throw std::runtime_error("broker store " + path_ + ": " + what + ": " +
                           (db_ ? sqlite3_errmsg(db_) : "?") +
                           " (check data_dir and free disk space)");
}

void Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "?";
    sqlite3_free(err);
    fail(e);
  }
}

sqlite3_stmt* Store::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) fail("cannot prepare statement");
  return s;
}

void Store::load(const std::function<void(const std::string&, QueuedMessage)>& message,
                 const std::function<void(const std::string&, int, StoredEvent)>& event) {
  sqlite3_stmt* s = prepare(
      "SELECT entity, seq, bytes, message_id, enqueued, expires, delivery_count, deferred FROM "
      "messages "
      "ORDER BY entity, seq");
  while (sqlite3_step(s) == SQLITE_ROW) {
    QueuedMessage m;
    std::string entity = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    m.sequence = static_cast<uint64_t>(sqlite3_column_int64(s, 1));
    m.bytes.assign(static_cast<const char*>(sqlite3_column_blob(s, 2)), sqlite3_column_bytes(s, 2));
    if (auto id = sqlite3_column_text(s, 3)) m.message_id = reinterpret_cast<const char*>(id);
    m.enqueued_ms = sqlite3_column_int64(s, 4);
    m.expires_ms = sqlite3_column_int64(s, 5);
    m.delivery_count = static_cast<uint32_t>(sqlite3_column_int(s, 6));
    m.deferred = sqlite3_column_int(s, 7) != 0;
    message(entity, std::move(m));
  }
  sqlite3_finalize(s);
  s = prepare(
      "SELECT hub, partition, seq, offset, enqueued, bytes FROM events ORDER BY hub, partition, "
      "seq");
  while (sqlite3_step(s) == SQLITE_ROW) {
    StoredEvent e;
    std::string hub = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    int partition = sqlite3_column_int(s, 1);
    e.sequence = sqlite3_column_int64(s, 2);
    e.offset = static_cast<uint64_t>(sqlite3_column_int64(s, 3));
    e.enqueued_ms = sqlite3_column_int64(s, 4);
    e.bytes.assign(static_cast<const char*>(sqlite3_column_blob(s, 5)), sqlite3_column_bytes(s, 5));
    event(hub, partition, std::move(e));
  }
  sqlite3_finalize(s);
}

namespace {
void step(sqlite3_stmt* s) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errstr(rc));
}
}  // namespace

void Store::write(std::vector<Op>& ops) {
  if (ops.empty()) return;
  exec("BEGIN");
  try {
    for (auto& op : ops) {
      if (auto* i = std::get_if<Insert>(&op)) {
        sqlite3_bind_text(insert_, 1, i->entity.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int64(insert_, 2, static_cast<sqlite3_int64>(i->m.sequence));
        sqlite3_bind_blob(insert_, 3, i->m.bytes.data(), static_cast<int>(i->m.bytes.size()),
                          SQLITE_STATIC);
        sqlite3_bind_text(insert_, 4, i->m.message_id.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int64(insert_, 5, i->m.enqueued_ms);
        sqlite3_bind_int64(insert_, 6, i->m.expires_ms);
        sqlite3_bind_int(insert_, 7, static_cast<int>(i->m.delivery_count));
        sqlite3_bind_int(insert_, 8, i->m.deferred);
        step(insert_);
      } else if (auto* r = std::get_if<Remove>(&op)) {
        sqlite3_bind_text(remove_, 1, r->entity.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int64(remove_, 2, static_cast<sqlite3_int64>(r->sequence));
        step(remove_);
      } else if (auto* u = std::get_if<Update>(&op)) {
        sqlite3_bind_int(update_, 1, static_cast<int>(u->delivery_count));
        sqlite3_bind_int(update_, 2, u->deferred);
        sqlite3_bind_text(update_, 3, u->entity.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int64(update_, 4, static_cast<sqlite3_int64>(u->sequence));
        step(update_);
      } else if (auto* e = std::get_if<InsertEvent>(&op)) {
        sqlite3_bind_text(insert_event_, 1, e->hub.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int(insert_event_, 2, e->partition);
        sqlite3_bind_int64(insert_event_, 3, e->e.sequence);
        sqlite3_bind_int64(insert_event_, 4, static_cast<sqlite3_int64>(e->e.offset));
        sqlite3_bind_int64(insert_event_, 5, e->e.enqueued_ms);
        sqlite3_bind_blob(insert_event_, 6, e->e.bytes.data(), static_cast<int>(e->e.bytes.size()),
                          SQLITE_STATIC);
        step(insert_event_);
      } else if (auto* d = std::get_if<DropEvents>(&op)) {
        sqlite3_bind_text(drop_events_, 1, d->hub.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int(drop_events_, 2, d->partition);
        sqlite3_bind_int64(drop_events_, 3, d->below);
        step(drop_events_);
      }
    }
    exec("COMMIT");
  } catch (const std::exception& e) {
    // A full disk fails a step or the COMMIT itself; either way the transaction is undone so
    // the next write starts clean.
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

bool Store::dirty() const {
  if (!pending_.empty()) return true;
  std::lock_guard lock(mutex_);
  return !failed_.empty();
}

void Store::wait_idle(std::unique_lock<std::mutex>& lock) {
  // Also waits for the last write's `done` to return: its owner may be destroyed right after.
  wake_.wait(lock, [this] { return !busy_ && !calling_done_; });
}

void Store::wait_idle() {
  std::unique_lock lock(mutex_);
  wait_idle(lock);
}

void Store::commit() {
  std::unique_lock lock(mutex_);
  wait_idle(lock);
  take_failed(pending_);
  write(pending_);
  pending_.clear();
}

void Store::take_failed(std::vector<Op>& ops) {
  if (failed_.empty()) return;
  // Changes a failed write held go first: they happened before the newer ones.
  failed_.insert(failed_.end(), std::make_move_iterator(ops.begin()),
                 std::make_move_iterator(ops.end()));
  ops = std::move(failed_);
  failed_.clear();
}

void Store::commit_async(std::function<void(const std::string&)> done) {
  {
    std::lock_guard lock(mutex_);
    take_failed(pending_);
    handed_ = std::move(pending_);
    done_ = std::move(done);
    busy_ = true;
  }
  pending_.clear();
  if (!writer_.joinable())
    writer_ = std::thread([this] {
      // The name /metrics and `top -H` show it by (the AMQP thread is the process's own).
      pthread_setname_np(pthread_self(), "broker-store");
      writer_loop();
    });
  wake_.notify_all();
}

void Store::writer_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return quit_ || busy_; });
    if (!busy_) return;
    std::vector<Op> ops = std::move(handed_);
    auto done = std::move(done_);
    lock.unlock();
    std::string error;
    try {
      write(ops);
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    if (!error.empty()) failed_ = std::move(ops);  // written again by the next commit
    // Idle before `done`: it may make the AMQP thread call commit_async at once, and that
    // call's busy_ = true must not be overwritten here afterwards.
    busy_ = false;
    calling_done_ = true;
    wake_.notify_all();
    lock.unlock();
    done(error);
    lock.lock();
    calling_done_ = false;
    wake_.notify_all();
  }
}

void Store::message_stored(const std::string& entity, const QueuedMessage& m) {
  QueuedMessage copy;
  copy.sequence = m.sequence;
  copy.bytes = m.bytes;
  copy.message_id = m.message_id;
  copy.enqueued_ms = m.enqueued_ms;
  copy.expires_ms = m.expires_ms;
  copy.delivery_count = m.delivery_count;
  copy.deferred = m.deferred;
  pending_.push_back(Insert{entity, std::move(copy)});
}

void Store::message_removed(const std::string& entity, uint64_t sequence) {
  // A message stored and removed before the commit never reaches the disk.
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    if (auto* i = std::get_if<Insert>(&*it);
        i && i->m.sequence == sequence && i->entity == entity) {
      pending_.erase(std::next(it).base());
      return;
    }
    if (std::holds_alternative<Insert>(*it)) break;  // only look at the newest insert
  }
  pending_.push_back(Remove{entity, sequence});
}

void Store::message_updated(const std::string& entity, const QueuedMessage& m) {
  pending_.push_back(Update{entity, m.sequence, m.delivery_count, m.deferred});
}

void Store::event_stored(const std::string& hub, int partition, const StoredEvent& e) {
  pending_.push_back(InsertEvent{hub, partition, e});
}

void Store::events_dropped(const std::string& hub, int partition, int64_t sequence) {
  pending_.push_back(DropEvents{hub, partition, sequence});
}

}  // namespace stepline::broker
