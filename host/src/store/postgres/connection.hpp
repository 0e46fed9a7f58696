// One connection to PostgreSQL (libpq), kept in pipeline mode: statements are queued and go out
// together, and sync() collects their results in order, so the statements of an operation, or a
// worker's batch of results, cost one round trip rather than one each. Statements are prepared
// on a connection the first time it runs them, in the same pipeline.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <stepline/date_time.hpp>
#include <stepline/guid.hpp>
#include <stepline/registration/model.hpp>

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace stepline::host::store::pg {

/// A statement the server refused, or a connection that failed. what() names the store and says
/// what the server said; `sqlstate` is the server's error code (empty when the connection
/// failed, which `lost` says).
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, std::string sqlstate, bool lost)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)), lost_(lost) {}
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  /// The connection is gone (the server stopped, the network failed): the statement's outcome
  /// is unknown unless it was not a commit.
  bool lost() const noexcept { return lost_; }
  /// SQLSTATE 53100: the database server's disk is full.
  bool disk_full() const noexcept { return sqlstate_ == "53100"; }

 private:
  std::string sqlstate_;
  bool lost_;
};

/// The rows one statement returned.
class Result {
 public:
  Result() = default;
  explicit Result(PGresult* result);
  ~Result();
  Result(Result&& other) noexcept;
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  int rows() const;
  bool is_null(int row, int column) const;
  std::string_view text(int row, int column) const;
  long long integer(int row, int column) const;
  bool boolean(int row, int column) const;
  /// A timestamptz as the session writes it (ISO, UTC); nullopt for NULL.
  std::optional<DateTime> time(int row, int column) const;
  /// Rows a statement without RETURNING changed.
  long long affected() const;

 private:
  PGresult* result_ = nullptr;
};

/// A statement's text, prepared under `name` on each connection that runs it.
struct Statement {
  const char* name;
  std::string sql;
};

/// A statement's parameters, as text (libpq's text format); absent = NULL.
class Params {
 public:
  /// libpq reads a text parameter up to its first NUL, and PostgreSQL's text holds none: each
  /// NUL goes as the six characters \u0000, so what follows one (a plug-in's trace, an error's
  /// text) is kept, the NUL shown where it was. Names and records' documents with a NUL are
  /// refused before they get here (the pipeline, the jobs API, UnstorableText).
  Params& add(std::string_view text) {
    auto& value = values_.emplace_back(std::in_place, text);
    for (auto at = value->find('\0'); at != std::string::npos; at = value->find('\0', at + 6))
      value->replace(at, 1, "\\u0000");
    return *this;
  }
  Params& add(const char* text) { return add(std::string_view(text)); }
  Params& add(const std::string& text) { return add(std::string_view(text)); }
  Params& add(long long n) {
    values_.emplace_back(std::to_string(n));
    return *this;
  }
  Params& add(int n) { return add(static_cast<long long>(n)); }
  Params& add(bool b) {
    values_.emplace_back(b ? "t" : "f");
    return *this;
  }
  Params& add(const Guid& id) {
    values_.emplace_back(id.str());
    return *this;
  }
  Params& add(DateTime t) {
    values_.emplace_back(to_iso8601(t));
    return *this;
  }
  template <class T>
  Params& add(const std::optional<T>& value) {
    if (value) return add(*value);
    values_.emplace_back(std::nullopt);
    return *this;
  }
  Params& null() {
    values_.emplace_back(std::nullopt);
    return *this;
  }
  /// `text`, or NULL when it is empty.
  Params& text_or_null(std::string_view text) {
    if (text.empty()) return null();
    return add(text);
  }
  std::size_t size() const { return values_.size(); }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

class Connection {
 public:
  /// Connects with the libpq connection string `url` (never shown: errors name `store`, the
  /// store's description, and `setting`, where the registration gives the URL), sets the
  /// session's time zone to UTC and its synchronous_commit after `durability`, and enters
  /// pipeline mode unless `pipeline` is false (run_script() then works). Throws Error.
  Connection(const std::string& url, const std::string& store, const std::string& setting,
             registration::Durability durability, bool pipeline = true);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Queues a statement (preparing it first on this connection, in the same pipeline).
  void queue(const Statement& statement, const Params& params = {});
  /// Queues a statement without parameters that is run once in a while (BEGIN, SAVEPOINT, a
  /// NOTIFY), not prepared.
  void queue(std::string_view sql);
  /// Queues a statement made for one use (an operator's listing with its filters), not
  /// prepared.
  void queue_once(const std::string& sql, const Params& params);
  /// Sends what is queued and returns each queued statement's result in order. When any failed,
  /// every result is read first (the rest of the pipeline was skipped), then the first error is
  /// thrown. Throws Error.
  std::vector<Result> sync();
  /// How many statements are queued and not yet synced.
  std::size_t queued() const noexcept { return expected_.size(); }
  /// False once the connection failed; it is then dropped rather than reused.
  bool usable() const;
  /// For an idle connection: false when the server has said something since its last statement,
  /// which it does only to end the session (a restart, an administrator): a connection kept in
  /// a pool would otherwise fail the first statement it is given afterwards.
  bool still_open() const;
  /// Round trips to the server so far (syncs), for the benchmark.
  std::uint64_t round_trips() const noexcept { return round_trips_; }
  /// Runs SQL text (several statements, no parameters) on a connection outside pipeline mode:
  /// the schema's migrations; returns the last statement's result. Throws Error.
  Result run_script(const std::string& sql);
  /// The libpq connection, for what only libpq does (a notification's socket).
  PGconn* native() noexcept { return conn_; }
  /// The description errors give ("record store postgresql://…").
  const std::string& store() const noexcept { return store_; }

 private:
  [[noreturn]] void fail(const std::string& what);
  Error error_of(PGresult* result, const std::string& what) const;

  PGconn* conn_ = nullptr;
  std::string store_;
  std::vector<std::string> prepared_;  ///< statement names prepared on this connection
  struct Expected {
    bool prepare;      ///< the result of a PQsendPrepare, not returned by sync()
    const char* name;  ///< the statement's name, for errors; null for plain SQL
  };
  std::vector<Expected> expected_;
  std::uint64_t round_trips_ = 0;
};

/// "2024-08-02 07:00:39.123+00", as a UTC session writes a timestamptz; nullopt otherwise.
std::optional<DateTime> parse_time(std::string_view text);

}  // namespace stepline::host::store::pg
