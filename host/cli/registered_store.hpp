// The store a registration file names, for the commands that need only it (`stepline jobs`,
// `stepline store`): read without loading plug-ins, and without the endpoints' secrets, which
// such a command has no use for; only the database URL, when the store is PostgreSQL, must
// resolve.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include <stepline/host/store/store.hpp>
#include <stepline/registration/load.hpp>

namespace stepline::cli {

/// A registration that names no usable store; what() says why, one problem a line.
struct UnusableStore : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RegisteredStore {
  host::store::Location where;
  registration::Durability durability = registration::Durability::normal;
};

inline RegisteredStore registered_store(const std::string& config) {
  if (!std::filesystem::exists(config))
    throw UnusableStore("cannot read the registration file " + config);
  auto loaded = registration::read(config);
  const auto& host = loaded.registration.host;
  std::string problems;
  for (const auto& p : loaded.problems)
    if (p.severity == registration::Severity::error &&
        (p.message.starts_with("host.store") || p.message.starts_with("host.data_folder")))
      problems += (problems.empty() ? "" : "\n") + p.str();
  if (!problems.empty()) throw UnusableStore(problems);
  auto where = host::store::Location::of(host);
  if (where.kind == host::store::Location::Kind::sqlite && where.file.is_relative())
    where = host::store::Location::sqlite(std::filesystem::path(config).parent_path() / where.file);
  return {where, host.durability};
}

}  // namespace stepline::cli
