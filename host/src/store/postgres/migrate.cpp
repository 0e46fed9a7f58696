#include "migrate.hpp"

#include <stdexcept>
#include <string>

#include "schema.hpp"

namespace stepline::host::store::pg {
namespace {

/// The advisory lock migrations hold: "Stepline" in ASCII, so that it does not meet another
/// application's.
constexpr long long schema_lock = 0x537465706c696e65LL;

int version_found(Connection& c) {
  auto exists = c.run_script("SELECT to_regclass('stepline_schema') IS NOT NULL");
  if (!exists.boolean(0, 0)) return 0;
  auto found = c.run_script("SELECT version FROM stepline_schema");
  return found.rows() ? static_cast<int>(found.integer(0, 0)) : 0;
}

void refuse_newer(const Connection& c, int found) {
  if (found > schema::version)
    throw std::runtime_error(c.store() + ": the database's schema version " +
                             std::to_string(found) + " is newer than this build's " +
                             std::to_string(schema::version) +
                             "; run this host with the newer stepline that migrated it");
}

}  // namespace

Migration bring_up_to_date(Connection& c) {
  Migration done;
  done.to = schema::version;
  done.from = version_found(c);
  refuse_newer(c, done.from);
  if (done.from == schema::version) return done;
  // The lock is the session's and taken before the transaction begins: a transaction that began
  // before another host's migration committed could go on seeing the tables as they were.
  const std::string lock = std::to_string(schema_lock);
  // If anything below fails, the lock goes with the connection, which its owner closes.
  c.run_script("SELECT pg_advisory_lock(" + lock + ")");
  c.run_script("BEGIN");
  try {
    // Another host may have migrated while this one waited for the lock.
    done.from = version_found(c);
    refuse_newer(c, done.from);
    if (done.from == 0)
      c.run_script(
          "CREATE TABLE stepline_schema (version integer NOT NULL); "
          "INSERT INTO stepline_schema VALUES (0)");
    for (int v = done.from; v < schema::version; ++v) c.run_script(schema::migrations[v]);
    c.run_script("UPDATE stepline_schema SET version = " + std::to_string(schema::version));
    c.run_script("COMMIT");
  } catch (...) {
    try {
      c.run_script("ROLLBACK");
    } catch (...) {
      // The connection is gone: the server rolled the transaction back itself.
    }
    throw;
  }
  c.run_script("SELECT pg_advisory_unlock(" + lock + ")");
  return done;
}

}  // namespace stepline::host::store::pg
