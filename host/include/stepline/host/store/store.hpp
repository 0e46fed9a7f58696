// Where the host keeps what it keeps durably (records, system jobs, their leases and results),
// and opening it. Two kinds of store sit behind the same two interfaces, RecordStore for the
// pipeline and JobStore for the async service and the operator: an SQLite file in the data
// folder, embedded and the default, and a PostgreSQL database that several hosts share
// (docs/SCALING.md). Each does its best behind them: SQLite grows commit groups at a write gate
// and checkpoints its log beside a running service; PostgreSQL runs each operation in a
// transaction of its own, pipelines its statements, and announces new jobs to every host.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <stepline/registration/model.hpp>

namespace stepline::host::store {

class RecordStore;
class JobStore;
using Durability = registration::Durability;

/// Which store, and where it is: a value, compared whole.
struct Location {
  enum class Kind { sqlite, postgresql };
  Kind kind = Kind::sqlite;
  std::filesystem::path file;  ///< sqlite: the database file
  /// postgresql: a libpq connection string (a URL or key=value pairs); it may hold a password,
  /// so it is never logged or shown: describe() is.
  std::string url;
  /// postgresql: where the URL comes from, for errors ("host.store.postgresql at
  /// stepline.yaml:5:17").
  std::string setting;
  /// This host's own files that sit beside the store (the attempt journals of its async
  /// services): for SQLite the folder of `file`, for PostgreSQL the host's data folder.
  std::filesystem::path data_folder;

  /// An SQLite database file.
  static Location sqlite(const std::filesystem::path& file);
  /// A PostgreSQL database; `data_folder` holds this host's own files.
  static Location postgresql(std::string url, std::string setting,
                             const std::filesystem::path& data_folder);
  /// The registration's store (`host.store`): stepline.db in the data folder, or the
  /// PostgreSQL database its URL names.
  static Location of(const registration::HostSettings& host);

  /// What logs and errors name: the file, or the database URL without its password.
  std::string describe() const;
  /// Where the async services' attempt journals live (docs/JOBS.md "A plug-in that takes the
  /// host down").
  std::filesystem::path attempts_folder() const;

  bool operator==(const Location&) const = default;
};

/// `url` without its password (in a URL's user part, or a password= parameter), for logs.
std::string redacted_url(std::string_view url);

/// Opens the record store at `where`, creating it and bringing its schema up to date (refusing a
/// schema newer than this build's). Throws std::runtime_error naming the store.
std::unique_ptr<RecordStore> open_records(const Location& where,
                                          Durability durability = Durability::normal);
/// Opens the job store at `where`, the same way.
std::unique_ptr<JobStore> open_jobs(const Location& where,
                                    Durability durability = Durability::normal);

/// The context log beside an SQLite database (docs/JOBS.md "The context log"): its segment files
/// and their bytes; none for PostgreSQL.
struct ContextLogUsage {
  std::size_t segments = 0;
  std::uint64_t bytes = 0;
};
ContextLogUsage context_log_usage(const Location& where);

/// What a migration did.
struct Migration {
  int from = 0;  ///< the schema version found (0: a new store)
  int to = 0;    ///< the version it has now, this build's
};
/// Brings the store's schema up to this build's version, as opening it does, and says from what.
/// Throws std::runtime_error naming the store, also when its schema is newer than this build's.
Migration migrate(const Location& where);

}  // namespace stepline::host::store
