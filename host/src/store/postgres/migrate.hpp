// Bringing a PostgreSQL store's schema to this build's version (schema.hpp).
#pragma once

#include <stepline/host/store/store.hpp>

#include "connection.hpp"

namespace stepline::host::store::pg {

/// Applies the migrations the database lacks, in one transaction under an advisory lock (hosts
/// that start together migrate once). Throws std::runtime_error naming the store when the
/// database's schema is newer than this build's, Error when a statement fails. `connection` is
/// not in pipeline mode.
Migration bring_up_to_date(Connection& connection);

}  // namespace stepline::host::store::pg
