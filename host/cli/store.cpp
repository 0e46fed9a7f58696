// `stepline store -c FILE migrate`: brings the registration's store (its SQLite database, or the
// PostgreSQL database of host.store) to this build's schema version and says from which one.
// Every command that opens the store does the same first; this one does nothing else, for a
// deployment that migrates in a step of its own before starting hosts (docs/SCALING.md).
// Exit 0 done, 1 the store cannot be reached or its schema is newer than this build's, 2 a
// registration that names no usable store.
#include <iostream>
#include <memory>
#include <string>

#include <stepline/host/store/store.hpp>

#include "command.hpp"
#include "registered_store.hpp"

namespace stepline::cli {
namespace {

int migrate(const std::string& config) {
  RegisteredStore store;
  try {
    store = registered_store(config);
  } catch (const UnusableStore& e) {
    std::cerr << e.what() << '\n';
    return 2;
  }
  try {
    auto done = host::store::migrate(store.where);
    std::cout << "store " << store.where.describe() << ": schema version " << done.to;
    if (done.from == done.to)
      std::cout << ", already up to date\n";
    else if (done.from == 0)
      std::cout << ", created\n";
    else
      std::cout << " (migrated from version " << done.from << ")\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "stepline store migrate: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace

STEPLINE_COMMAND([](CLI::App& app) {
  auto config = std::make_shared<std::string>();
  auto* store = app.add_subcommand("store", "The registration's store of records and jobs");
  store->add_option("-c,--config", *config, "the registration YAML file")->required();
  store->require_subcommand(1);
  store->fallthrough();
  auto* migrate_command = store->add_subcommand(
      "migrate", "Bring the store's schema up to this build's version (hosts do it on start)");
  migrate_command->callback([config] { exit_status() = migrate(*config); });
});

}  // namespace stepline::cli
