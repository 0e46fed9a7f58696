#include "record_store.hpp"

#include <algorithm>

#include <stepline/format/json.hpp>
#include "../record_row.hpp"
#include "job_row.hpp"
#include "migrate.hpp"

namespace stepline::host::store::pg {
namespace {

const Statement insert_record{
    "insert_record",
    "INSERT INTO records (entity, id, attributes, created_on, modified_on) VALUES ($1, $2::uuid, "
    "$3::jsonb, $4::timestamptz, $4::timestamptz) ON CONFLICT (entity, id) DO NOTHING RETURNING "
    "seq"};
const Statement select_record{
    "select_record",
    "SELECT attributes::text, version FROM records WHERE entity = $1 AND id = $2::uuid"};
// The merge happens in the statement, under the row's lock: two hosts updating one record each
// keep the other's columns.
const Statement update_record{
    "update_record",
    "UPDATE records SET attributes = attributes || $3::jsonb, modified_on = $4::timestamptz, "
    "version = version + 1 WHERE entity = $1 AND id = $2::uuid RETURNING version"};
const Statement delete_record{
    "delete_record", "DELETE FROM records WHERE entity = $1 AND id = $2::uuid RETURNING seq"};
// A page of candidates after `seq` $3; the conditions a document can hold ($2) narrow them, and
// every condition is checked exactly on the decoded record.
constexpr int query_chunk = 500;
const Statement query_records{
    "query_records",
    "SELECT seq, id, attributes::text, version FROM records WHERE entity = $1 AND attributes @> "
    "$2::jsonb AND seq > $3::bigint ORDER BY seq LIMIT " +
        std::to_string(query_chunk)};
// Where a page of a table's records starts when nothing narrows them: the index of the table's
// records in order passes over the earlier pages, which are not read.
const Statement page_start{"page_start",
                           "SELECT seq FROM records WHERE entity = $1 ORDER BY seq OFFSET "
                           "$2::bigint LIMIT 1"};
// Jobs of one record and endpoint must take their sequence in the order their operations
// commit, whichever host runs them: the second waits here for the first's commit.
const Statement lock_order{"lock_order", "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))"};
const Statement all_jobs{"all_jobs",
                         "SELECT " + job_columns() + job_tables + " ORDER BY j.sequence"};
const Statement hand_back{
    "hand_back_claimed",
    "UPDATE system_jobs SET state_code = 0, status_code = 0, lease_owner = NULL, lease_until = "
    "NULL WHERE id = ANY($1::uuid[]) AND lease_owner = $2 AND state_code = 2 AND status_code = 20"};

/// What a commit's failure is thrown as: a full disk of the database server passes, as SQLite's
/// does.
[[noreturn]] void throw_not_committed(const std::exception& e) {
  auto message = "the operation's changes were not committed: " + std::string(e.what());
  if (auto* pg = dynamic_cast<const Error*>(&e); pg && pg->disk_full()) throw StorageFull(message);
  throw std::runtime_error(message);
}

/// The transactions this thread has open, one per store.
thread_local std::vector<std::pair<const void*, void*>> open_sessions;

}  // namespace

/// The calling thread's transaction on the store: a connection of the pool, the depth of
/// savepoints, and the jobs claimed for the hand-off, with where their sequences will be read.
struct PostgresRecordStore::Session {
  explicit Session(Pool::Lease lease) : connection(std::move(lease)) {}
  Pool::Lease connection;
  int depth = 0;  ///< open scopes, the outermost included
  struct Claimed {
    int depth;             ///< the scope that wrote it; lowered as scopes commit into their parents
    std::uint64_t number;  ///< this session's count of claims, as its insert's mark
    SystemJob job;
  };
  std::vector<Claimed> claimed;
  std::uint64_t claims = 0;
  JobHandoff* handoff = nullptr;  ///< the one claims were made for
  /// For each statement queued since the last sync: the number of the claimed job whose sequence
  /// it returns, or 0. A claim a scope rolled back before its insert was synced is gone when the
  /// result arrives: its mark then finds nothing.
  std::vector<std::uint64_t> queued;
  bool announce = false;  ///< a job was written Ready: other hosts are told at commit

  void queue(const Statement& s, const Params& p, std::uint64_t claim = 0) {
    connection->queue(s, p);
    queued.push_back(claim);
  }
  void queue(std::string_view sql) {
    connection->queue(sql);
    queued.push_back(0);
  }
  /// Sends what is queued; returns the last statement's rows.
  Result sync() {
    auto marks = std::move(queued);
    queued.clear();
    auto results = connection->sync();
    for (std::size_t i = 0; i < results.size() && i < marks.size(); ++i) {
      if (marks[i] == 0 || results[i].rows() == 0) continue;
      for (auto& c : claimed)
        if (c.number == marks[i]) c.job.sequence = results[i].integer(0, 0);
    }
    return results.empty() ? Result() : std::move(results.back());
  }
};

/// A Transaction: BEGIN (or a SAVEPOINT) queued on the thread's session, COMMIT (or RELEASE)
/// at commit(); ROLLBACK (TO) when it goes uncommitted.
class PostgresRecordStore::Operation final : public RecordStore::Scope {
 public:
  explicit Operation(PostgresRecordStore& store);
  ~Operation() override;
  void commit() override;

 private:
  void end_session() noexcept;

  PostgresRecordStore& store_;
  Session* session_ = nullptr;
  int depth_ = 0;
  bool done_ = false;
};

PostgresRecordStore::PostgresRecordStore(const Location& where, Durability durability)
    : location_(where),
      durability_(durability),
      pool_(where.url, "record store " + where.describe(), where.setting, durability, 32) {
  auto connection = pool_.connect(false);
  schema_version_ = bring_up_to_date(*connection).to;
}

PostgresRecordStore::~PostgresRecordStore() = default;

PostgresRecordStore::Session* PostgresRecordStore::session() const {
  for (auto& [store, session] : open_sessions)
    if (store == this) return static_cast<Session*>(session);
  return nullptr;
}

std::unique_ptr<RecordStore::Scope> PostgresRecordStore::begin() {
  return std::make_unique<Operation>(*this);
}

PostgresRecordStore::Operation::Operation(PostgresRecordStore& store) : store_(store) {
  session_ = store_.session();
  if (session_) {
    depth_ = ++session_->depth;
    session_->queue("SAVEPOINT sp" + std::to_string(depth_));
    return;
  }
  store_.waiting_.fetch_add(1, std::memory_order_relaxed);
  std::optional<Pool::Lease> lease;
  try {
    lease.emplace(store_.pool_.take());
  } catch (...) {
    store_.waiting_.fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
  store_.waiting_.fetch_sub(1, std::memory_order_relaxed);
  store_.settle_doubtful(**lease);
  auto session = std::make_unique<Session>(std::move(*lease));
  session->queue("BEGIN");
  session->depth = depth_ = 1;
  session_ = session.release();
  open_sessions.emplace_back(&store_, session_);
}

void PostgresRecordStore::Operation::commit() {
  if (done_) throw std::logic_error("record store: transaction committed twice");
  done_ = true;
  auto& s = *session_;
  if (depth_ > 1) {
    s.queue("RELEASE SAVEPOINT sp" + std::to_string(depth_));
    for (auto& c : s.claimed)
      if (c.depth >= depth_) c.depth = depth_ - 1;
    --s.depth;
    return;
  }
  try {
    if (s.announce) s.queue(announce_sql);
    s.queue("COMMIT");
    s.sync();
  } catch (const std::exception& e) {
    // A commit whose connection broke may have happened: its claimed jobs are handed back
    // once the database answers again (settle_doubtful).
    auto* pg = dynamic_cast<const Error*>(&e);
    const bool unknown = pg && pg->lost();
    if (!unknown) {
      try {
        s.queue("ROLLBACK");
        s.sync();
      } catch (...) {
        // The connection failed too: the server rolls the transaction back itself.
      }
    }
    if (s.handoff && !s.claimed.empty()) {
      std::lock_guard lock(store_.handoff_mutex_);
      if (unknown)
        for (auto& c : s.claimed) store_.doubtful_.push_back(std::move(c.job));
      else
        s.handoff->abandoned(s.claimed.size());
    }
    end_session();
    throw_not_committed(e);
  }
  store_.commits_.fetch_add(1, std::memory_order_relaxed);
  if (!s.claimed.empty()) {
    std::vector<SystemJob> jobs;
    jobs.reserve(s.claimed.size());
    for (auto& c : s.claimed) jobs.push_back(std::move(c.job));
    // The taker stays attached (detach_handoff waits) until this session is done.
    std::lock_guard lock(store_.handoff_mutex_);
    s.handoff->committed(std::move(jobs));
  }
  end_session();
}

PostgresRecordStore::Operation::~Operation() {
  if (done_) {
    return;
  }
  auto& s = *session_;
  // The jobs this scope (and the ones inside it) claimed will never be committed.
  auto first = std::stable_partition(s.claimed.begin(), s.claimed.end(),
                                     [&](const Session::Claimed& c) { return c.depth < depth_; });
  const auto dropped = static_cast<std::size_t>(s.claimed.end() - first);
  s.claimed.erase(first, s.claimed.end());
  if (dropped) {
    std::lock_guard lock(store_.handoff_mutex_);
    s.handoff->abandoned(dropped);
  }
  if (depth_ > 1) {
    const auto name = "sp" + std::to_string(depth_);
    s.queue("ROLLBACK TO SAVEPOINT " + name);
    s.queue("RELEASE SAVEPOINT " + name);
    --s.depth;
    return;
  }
  try {
    s.queue("ROLLBACK");
    s.sync();
  } catch (...) {
    // A failed connection is dropped by the pool; the server rolls back what it had.
  }
  end_session();
}

void PostgresRecordStore::Operation::end_session() noexcept {
  std::erase_if(open_sessions, [&](const auto& entry) { return entry.first == &store_; });
  const bool claimed = session_->handoff != nullptr;
  delete session_;
  session_ = nullptr;
  if (claimed) store_.claims_settled();
}

void PostgresRecordStore::claims_settled() {
  std::lock_guard lock(handoff_mutex_);
  --claiming_;
  claims_done_.notify_all();
}

void PostgresRecordStore::settle_doubtful(Connection& connection) {
  std::vector<SystemJob> jobs;
  JobHandoff* handoff = nullptr;
  {
    std::lock_guard lock(handoff_mutex_);
    if (doubtful_.empty()) return;
    jobs.swap(doubtful_);
    handoff = handoff_;
  }
  // One taker per store: every doubtful job has its lease owner.
  std::string ids = "{";
  for (const auto& j : jobs) ids += (ids.size() > 1 ? "," : "") + j.id.str();
  ids += "}";
  try {
    connection.queue(hand_back, Params().add(ids).add(jobs.front().lease_owner));
    connection.queue(announce_sql);
    connection.sync();
  } catch (...) {
    std::lock_guard lock(handoff_mutex_);
    for (auto& j : jobs) doubtful_.push_back(std::move(j));
    throw;
  }
  std::lock_guard lock(handoff_mutex_);
  if (handoff && handoff == handoff_) handoff->abandoned(jobs.size());
}

Result PostgresRecordStore::run(const Statement& statement, const Params& params) {
  if (auto* s = session()) {
    s->queue(statement, params);
    return s->sync();
  }
  auto connection = pool_.take();
  connection->queue(statement, params);
  auto results = connection->sync();
  return std::move(results.back());
}

namespace {

/// True when the JSON text `json` escapes a NUL character (\u0000): an escape read as one, not
/// the same six characters after an escaped backslash.
bool escapes_nul(std::string_view json) {
  for (std::size_t i = json.find('\\'); i != std::string_view::npos; i = json.find('\\', i)) {
    if (json.substr(i + 1, 5) == "u0000") return true;
    i += 2;  // past the escape's first two characters, whatever it is
  }
  return false;
}

/// `attributes` written as the records' JSON document, or UnstorableText naming the first
/// attribute whose name or text holds a NUL, which jsonb cannot keep.
std::string document_of(const Entity& entity) {
  std::string document = format::json::write_parameters(entity.attributes);
  if (document.find("\\u0000") == std::string::npos || !escapes_nul(document)) return document;
  for (const auto& [name, value] : entity.attributes)
    if (name.find('\0') != std::string::npos || escapes_nul(format::json::write_value(value)))
      throw UnstorableText(entity.logical_name, name);
  throw UnstorableText(entity.logical_name, "?");  // not reached: the NUL is in one of them
}

}  // namespace

Guid PostgresRecordStore::create(const Entity& entity) {
  Guid id = entity.id.is_nil() ? time_ordered_guid() : entity.id;
  auto r = run(insert_record,
               Params().add(entity.logical_name).add(id).add(document_of(entity)).add(now_utc()));
  if (r.rows() == 0) throw DuplicateRecord(entity.logical_name, id);
  return id;
}

std::optional<Entity> PostgresRecordStore::retrieve(std::string_view entity, const Guid& id,
                                                    const ColumnSet& columns) {
  auto r = run(select_record, Params().add(entity).add(id));
  if (r.rows() == 0) return std::nullopt;
  return restrict_columns(decode_record(entity, id, r.text(0, 0), r.integer(0, 1)), columns);
}

void PostgresRecordStore::update(const Entity& entity) {
  auto r =
      run(update_record,
          Params().add(entity.logical_name).add(entity.id).add(document_of(entity)).add(now_utc()));
  if (r.rows() == 0) throw RecordNotFound(entity.logical_name, entity.id);
}

void PostgresRecordStore::remove(std::string_view entity, const Guid& id) {
  auto r = run(delete_record, Params().add(entity).add(id));
  if (r.rows() == 0) throw RecordNotFound(entity, id);
}

EntityCollection PostgresRecordStore::retrieve_multiple(const Query& query) {
  if (query.page_size < 0 || query.page_number < 1)
    throw std::invalid_argument("RetrieveMultiple: page size must be >= 0 and page number >= 1");
  // Conditions on strings, whole numbers and booleans narrow the rows in SQL (a document the
  // record's attributes must contain); every condition is then checked exactly on the decoded
  // record, so the SQL part only has to avoid false negatives.
  ParameterCollection narrowing;
  for (const auto& [column, value] : query.conditions) {
    auto k = value.kind();
    if (k == ValueKind::string || k == ValueKind::integer || k == ValueKind::boolean)
      narrowing.insert_or_assign(column, value);
  }
  const std::string document = format::json::write_parameters(narrowing);
  EntityCollection out;
  out.entity_name = query.entity_name;
  // No stored record holds a NUL (create and update refuse one), and jsonb cannot read a
  // document that does: nothing matches.
  if (escapes_nul(document)) return out;
  const std::size_t skip =
      query.page_size == 0 ? 0
                           : static_cast<std::size_t>(query.page_size) * (query.page_number - 1);
  std::size_t matched = 0;
  std::size_t bytes = 0;  // what the page holds, about (max_page_bytes)
  long long after = 0;
  if (query.conditions.empty() && skip > 0) {
    auto first = run(page_start, Params().add(query.entity_name).add(static_cast<long long>(skip)));
    if (first.rows() == 0) return out;
    after = first.integer(0, 0) - 1;
    matched = skip;
  }
  // Candidates are read a chunk at a time, so a large table never sits in memory whole.
  for (;;) {
    auto r = run(query_records, Params().add(query.entity_name).add(document).add(after));
    for (int row = 0; row < r.rows(); ++row) {
      after = r.integer(row, 0);
      Entity e = decode_record(query.entity_name, Guid::parse(r.text(row, 1)), r.text(row, 2),
                               r.integer(row, 3));
      bool match = std::all_of(query.conditions.begin(), query.conditions.end(),
                               [&](const auto& c) { return meets(e.get(c.first), c.second); });
      if (!match) continue;
      if (matched++ < skip) continue;
      if (query.page_size > 0 && out.entities.size() == static_cast<std::size_t>(query.page_size)) {
        out.more_records = true;
        out.paging_cookie = std::to_string(query.page_number + 1);
        return out;
      }
      out.entities.push_back(restrict_columns(std::move(e), query.columns));
      bytes += footprint(out.entities.back());
      if (bytes > max_page_bytes) throw PageTooLarge(query.entity_name, out.entities.size());
    }
    if (r.rows() < query_chunk) return out;
  }
}

void PostgresRecordStore::add_system_job(SystemJob job) {
  Session* s = session();
  if (!s) {
    // Outside any operation: its own transaction, and other hosts are told at once.
    auto connection = pool_.take();
    if (!job.ordering_key.empty())
      connection->queue(lock_order,
                        Params().add(job.ordering_key + "\n" + job.endpoint.value_or("")));
    connection->queue(insert_job(), insert_job_params(job));
    connection->queue(announce_sql);
    connection->sync();
    return;
  }
  std::optional<SystemJob> claimed;
  {
    std::lock_guard lock(handoff_mutex_);
    if (handoff_ && (!s->handoff || s->handoff == handoff_)) {
      claimed = std::move(job);
      if (handoff_->claim(*claimed)) {
        if (!s->handoff) ++claiming_;
        s->handoff = handoff_;
      } else {
        job = std::move(*claimed);
        claimed.reset();
      }
    }
  }
  const SystemJob& row = claimed ? *claimed : job;
  if (!row.ordering_key.empty())
    s->queue(lock_order, Params().add(row.ordering_key + "\n" + row.endpoint.value_or("")));
  if (claimed) {
    s->queue(insert_job(), insert_job_params(*claimed), s->claims + 1);
    s->claimed.push_back({s->depth, ++s->claims, std::move(*claimed)});
  } else {
    s->queue(insert_job(), insert_job_params(job));
    s->announce = true;
  }
}

std::vector<SystemJob> PostgresRecordStore::system_jobs() {
  auto r = run(all_jobs, {});
  std::vector<SystemJob> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) out.push_back(read_job(r, row));
  return out;
}

bool PostgresRecordStore::attach_handoff(JobHandoff& handoff) {
  std::lock_guard lock(handoff_mutex_);
  if (handoff_ && handoff_ != &handoff) return false;
  handoff_ = &handoff;
  return true;
}

HandoffRoom PostgresRecordStore::handoff_room() {
  std::lock_guard lock(handoff_mutex_);
  return handoff_ ? handoff_->room() : HandoffRoom{};
}

void PostgresRecordStore::detach_handoff(JobHandoff& handoff) {
  std::unique_lock lock(handoff_mutex_);
  if (handoff_ != &handoff) return;
  handoff_ = nullptr;
  // Operations holding jobs they claimed from it commit or roll back first, so that none of
  // its jobs is left half handed over; jobs of doubtful commits are the taker's to hand back.
  claims_done_.wait(lock, [&] { return claiming_ == 0; });
  doubtful_.clear();
}

}  // namespace stepline::host::store::pg
