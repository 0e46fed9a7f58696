// One records row read back, the same for every kind of store: its attributes are one document
// in Stepline's json format.
#pragma once

#include <string_view>

#include <stepline/host/store/record_store.hpp>

namespace stepline::host::store {

/// The record `id` of `entity` from its stored attributes and version (the row version).
Entity decode_record(std::string_view entity, const Guid& id, std::string_view attributes,
                     long long version);

/// `e` with only the columns asked for (all of them for ColumnSet::all()).
Entity restrict_columns(Entity e, const ColumnSet& columns);

}  // namespace stepline::host::store
