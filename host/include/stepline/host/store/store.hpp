// Where the host keeps what it keeps durably (records, system jobs, their leases and results),
// and opening it. The store sits behind two interfaces, RecordStore for the pipeline and
// jobs::JobStore for the async service and the operator, so that each kind of store does its
// best behind them (SQLite, the embedded default, grows commit groups at a write gate and
// checkpoints its log beside a running service).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <stepline/registration/model.hpp>

namespace stepline::host::store {

class RecordStore;
class JobStore;
using Durability = registration::Durability;

/// Which store, and where it is: a value, compared whole.
struct Location {
  enum class Kind { sqlite };
  Kind kind = Kind::sqlite;
  std::filesystem::path file;  ///< sqlite: the database file
  /// This host's own files that sit beside the store; for SQLite the folder of `file`.
  std::filesystem::path data_folder;

  /// An SQLite database file.
  static Location sqlite(const std::filesystem::path& file);
  /// The registration's store: stepline.db in the data folder.
  static Location of(const registration::HostSettings& host);

  /// What logs and errors name: the file.
  std::string describe() const;
  /// Where the async services' attempt journals live (docs/JOBS.md "A plug-in that takes the
  /// host down").
  std::filesystem::path attempts_folder() const;

  bool operator==(const Location&) const = default;
};

/// Opens the record store at `where`, creating it and bringing its schema up to date (refusing a
/// schema newer than this build's). Throws std::runtime_error naming the store.
std::unique_ptr<RecordStore> open_records(const Location& where,
                                          Durability durability = Durability::normal);
/// Opens the job store at `where`, the same way.
std::unique_ptr<JobStore> open_jobs(const Location& where,
                                          Durability durability = Durability::normal);

/// What a migration did.
struct Migration {
  int from = 0;  ///< the schema version found (0: a new store)
  int to = 0;    ///< the version it has now, this build's
};
/// Brings the store's schema up to this build's version, as opening it does, and says from what.
/// Throws std::runtime_error naming the store, also when its schema is newer than this build's.
Migration migrate(const Location& where);

}  // namespace stepline::host::store
