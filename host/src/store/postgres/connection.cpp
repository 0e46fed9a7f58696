#include "connection.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <charconv>

namespace stepline::host::store::pg {
namespace {

/// libpq's messages end with a newline and indent their detail lines: one line, for logs.
std::string one_line(const char* message) {
  std::string out;
  for (const char* c = message ? message : ""; *c; ++c) {
    if (*c == '\n' || *c == '\t') {
      if (!out.empty() && out.back() != ' ') out += c[1] ? "; " : "";
      continue;
    }
    out += *c;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

}  // namespace

Result::Result(PGresult* result) : result_(result) {}

Result::~Result() {
  if (result_) PQclear(result_);
}

Result::Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}

Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

int Result::rows() const {
  return result_ ? PQntuples(result_) : 0;
}

bool Result::is_null(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

std::string_view Result::text(int row, int column) const {
  return {PQgetvalue(result_, row, column),
          static_cast<std::size_t>(PQgetlength(result_, row, column))};
}

long long Result::integer(int row, int column) const {
  auto t = text(row, column);
  long long n = 0;
  std::from_chars(t.data(), t.data() + t.size(), n);
  return n;
}

bool Result::boolean(int row, int column) const {
  return text(row, column) == "t";
}

std::optional<DateTime> Result::time(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return parse_time(text(row, column));
}

long long Result::affected() const {
  const char* n = result_ ? PQcmdTuples(result_) : "";
  long long count = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), count);
  return count;
}

std::optional<DateTime> parse_time(std::string_view text) {
  // The session's time zone is UTC, so the offset is always +00.
  if (!text.ends_with("+00")) return parse_iso8601(text);
  std::string iso(text.substr(0, text.size() - 3));
  iso += 'Z';
  return parse_iso8601(iso);
}

Connection::Connection(const std::string& url, const std::string& store, const std::string& setting,
                       registration::Durability durability, bool pipeline)
    : store_(store) {
  // Defaults before the URL, so that what the URL says wins: a database that does not answer
  // fails in 10 s instead of the operating system's minutes, and a dead peer is noticed.
  const char* keywords[] = {"connect_timeout",
                            "keepalives_idle",
                            "keepalives_interval",
                            "keepalives_count",
                            "application_name",
                            "dbname",
                            nullptr};
  const char* values[] = {"10", "30", "10", "3", "stepline", url.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, 1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string why = conn_ ? one_line(PQerrorMessage(conn_)) : "out of memory";
    PQfinish(conn_);
    conn_ = nullptr;
    throw Error(store_ + ": cannot connect: " + why + " (the database URL comes from " + setting +
                    "; check its user, password, host, port and database name, and that the "
                    "server is running)",
                "", true);
  }
  // A durable commit waits for the server's WAL to reach its disk; `normal` returns once the
  // server has the commit, as SQLite's synchronous=NORMAL returns before its fsync.
  std::string session = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET synchronous_commit = ";
  session += durability == registration::Durability::full ? "on" : "off";
  try {
    run_script(session);
    if (pipeline && PQenterPipelineMode(conn_) != 1) fail("cannot enter pipeline mode");
  } catch (...) {
    // No destructor runs for an object whose constructor throws (a server that went away
    // between the connection and its session settings): the connection is closed here.
    PQfinish(conn_);
    conn_ = nullptr;
    throw;
  }
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

bool Connection::usable() const {
  return conn_ && PQstatus(conn_) == CONNECTION_OK;
}

bool Connection::still_open() const {
  if (!usable()) return false;
  pollfd fd{PQsocket(conn_), POLLIN, 0};
  return ::poll(&fd, 1, 0) == 0;
}

void Connection::fail(const std::string& what) {
  throw Error(store_ + ": " + what + ": " + one_line(PQerrorMessage(conn_)), "", !usable());
}

Error Connection::error_of(PGresult* result, const std::string& what) const {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string message = one_line(PQresultErrorMessage(result));
  if (message.empty()) message = one_line(PQerrorMessage(conn_));
  return Error(store_ + ": " + what + ": " + message, state ? state : "", !usable());
}

void Connection::queue(const Statement& statement, const Params& params) {
  if (std::find(prepared_.begin(), prepared_.end(), statement.name) == prepared_.end()) {
    if (!PQsendPrepare(conn_, statement.name, statement.sql.c_str(), 0, nullptr))
      fail(std::string("cannot prepare ") + statement.name);
    prepared_.emplace_back(statement.name);
    expected_.push_back({true, statement.name});
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& v : params.values()) values.push_back(v ? v->c_str() : nullptr);
  if (!PQsendQueryPrepared(conn_, statement.name, static_cast<int>(values.size()), values.data(),
                           nullptr, nullptr, 0))
    fail(std::string("cannot send ") + statement.name);
  expected_.push_back({false, statement.name});
}

void Connection::queue(std::string_view sql) {
  std::string text(sql);
  if (!PQsendQueryParams(conn_, text.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0))
    fail("cannot send " + text);
  expected_.push_back({false, nullptr});
}

void Connection::queue_once(const std::string& sql, const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& v : params.values()) values.push_back(v ? v->c_str() : nullptr);
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0))
    fail("cannot send a statement");
  expected_.push_back({false, nullptr});
}

std::vector<Result> Connection::sync() {
  std::vector<Result> results;
  auto expected = std::move(expected_);
  expected_.clear();
  if (PQpipelineSync(conn_) != 1) fail("cannot send the statements");
  ++round_trips_;
  results.reserve(expected.size());
  std::optional<Error> first;
  for (const auto& e : expected) {
    PGresult* r = PQgetResult(conn_);
    if (!r) {
      // Nothing where a result belongs: the connection broke.
      if (!first)
        first = Error(store_ + ": the connection was lost: " + one_line(PQerrorMessage(conn_)), "",
                      true);
      break;
    }
    Result result(r);
    const auto status = PQresultStatus(r);
    if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR ||
        status == PGRES_PIPELINE_ABORTED || status == PGRES_BAD_RESPONSE) {
      if (e.prepare) std::erase(prepared_, std::string(e.name));
      if (status != PGRES_PIPELINE_ABORTED && !first)
        first = error_of(r, e.name ? std::string("statement ") + e.name : "statement");
    }
    // Each statement's results end with a null.
    while (PGresult* more = PQgetResult(conn_)) PQclear(more);
    if (!e.prepare) results.push_back(std::move(result));
    if (!usable()) break;
  }
  if (usable()) {
    PGresult* r = PQgetResult(conn_);
    if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
      if (!first) first = error_of(r, "the end of the statements");
    }
    if (r) PQclear(r);
  }
  if (!usable()) {
    prepared_.clear();
    if (!first)
      first =
          Error(store_ + ": the connection was lost: " + one_line(PQerrorMessage(conn_)), "", true);
  }
  if (first) throw *first;
  return results;
}

Result Connection::run_script(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  Result result(r);
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw error_of(r, "setting up");
  return result;
}

}  // namespace stepline::host::store::pg
