// `stepline plugins scan FILE`: examines one library in this (short-lived) process and prints its
// descriptor as JSON; the catalog runs it as a child so that a library that crashes or hangs
// while loading cannot take the host with it. Exit status: 0 with the JSON on stdout, 1 when the
// library cannot be loaded, 3 when it is not a Stepline plug-in, 4 when loading outlasts
// --timeout; a library that crashes ends the scan with its signal, after a line on stderr.
// `stepline plugins worker`: the worker process of a step with `isolation: process` (see
// docs/ISOLATION.md).
// `stepline plugins list -c FILE [--json]`: every library of a registration, loaded or refused
// (with the reason), and every plug-in type.
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <stepline/host/catalog/plugin_catalog.hpp>
#include <stepline/host/catalog/plugin_descriptor.hpp>
#include <stepline/host/log.hpp>
#include <stepline/registration/load.hpp>

#include "command.hpp"
#include "isolation/worker.hpp"  // the far end of isolation: not the host library's API

namespace stepline::cli {
namespace {

namespace fs = std::filesystem;

// The scan's crash and hang reports, prepared before loading because a signal handler may not
// allocate.
std::string crash_prefix;
std::string hang_report;

extern "C" void report_crash(int signal) {
  const char* name = ::sigabbrev_np(signal);
  (void)!::write(STDERR_FILENO, crash_prefix.data(), crash_prefix.size());
  (void)!::write(STDERR_FILENO, "SIG", 3);
  (void)!::write(STDERR_FILENO, name ? name : "?", name ? ::strlen(name) : 1);
  (void)!::write(STDERR_FILENO, ")\n", 2);
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

extern "C" void report_hang(int) {
  (void)!::write(STDERR_FILENO, hang_report.data(), hang_report.size());
  ::_exit(4);
}

int scan(const fs::path& file, unsigned timeout_seconds) {
  const fs::path absolute = fs::absolute(file).lexically_normal();
  crash_prefix = "stepline plugins scan: " + absolute.string() + " was stopped while loading (";
  hang_report = "stepline plugins scan: " + absolute.string() + " did not finish loading within " +
                std::to_string(timeout_seconds) + " s\n";
  for (int s : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) ::signal(s, report_crash);
  ::signal(SIGALRM, report_hang);
  ::alarm(timeout_seconds);
  try {
    const auto description = host::catalog::examine_library(absolute);
    ::alarm(0);
    std::cout << host::catalog::to_json(description) << std::endl;
    if (auto why = host::catalog::incompatibility(absolute, description)) {
      std::cerr << "note: this host would refuse it: " << *why << "\n";
    }
    return 0;
  } catch (const host::catalog::ExamineError& e) {
    std::cerr << e.what() << std::endl;
    return e.kind() == host::catalog::ExamineError::Kind::not_a_plugin ? 3 : 1;
  }
}

// The catalog's part of a registration. Problems elsewhere in the file (an unset connection
// variable, say) do not stop the plug-ins from being listed; `stepline validate` reports them.
host::catalog::CatalogSettings read_catalog_settings(const fs::path& registration_file) {
  if (!fs::exists(registration_file))
    throw std::runtime_error(registration_file.string() + ": no such file");
  return host::catalog::CatalogSettings::from(registration::read(registration_file).registration);
}

void print_text(const host::catalog::PluginCatalog& catalog) {
  for (const auto& library : catalog.libraries()) {
    const std::string_view status = host::catalog::to_string(library.status);
    std::cout << status << std::string(9 - status.size(), ' ') << library.file.string() << "\n";
    if (library.status == host::catalog::LibraryStatus::refused) {
      std::cout << "         " << library.reason << "\n";
      continue;
    }
    for (const auto& t : library.description->types) {
      std::cout << "         " << t.name << " " << t.version << "\n";
    }
  }
  if (catalog.libraries().empty()) std::cout << "no plug-in libraries\n";
}

void print_json(const host::catalog::PluginCatalog& catalog) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
  auto text = [&](const std::string& s) {
    w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartObject();
  w.Key("libraries");
  w.StartArray();
  for (const auto& library : catalog.libraries()) {
    w.StartObject();
    w.Key("file");
    text(library.file.string());
    w.Key("status");
    text(std::string(host::catalog::to_string(library.status)));
    if (!library.reason.empty()) {
      w.Key("reason");
      text(library.reason);
    }
    w.Key("sha256");
    text(library.sha256);
    w.Key("from_scan_cache");
    w.Bool(library.from_scan_cache);
    if (library.description) {
      w.Key("abi");
      text(std::to_string(library.description->abi_major) + "." +
           std::to_string(library.description->abi_minor));
      w.Key("sdk_version");
      text(library.description->sdk_version);
      w.Key("fingerprint");
      text(library.description->fingerprint);
      w.Key("types");
      w.StartArray();
      for (const auto& t : library.description->types) {
        w.StartObject();
        w.Key("name");
        text(t.name);
        w.Key("version");
        text(t.version);
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::cout << buffer.GetString() << std::endl;
}

STEPLINE_COMMAND([](CLI::App& app) {
  auto* plugins = app.add_subcommand("plugins", "Examine and list plug-in libraries");
  plugins->require_subcommand(1);

  struct ScanOptions {
    std::string file;
    unsigned timeout = 30;
  };
  auto scan_options = std::make_shared<ScanOptions>();
  auto* scan_command = plugins->add_subcommand(
      "scan", "Load one library in this process and print its descriptor as JSON");
  scan_command->add_option("file", scan_options->file, "The plug-in library")->required();
  scan_command->add_option("--timeout", scan_options->timeout,
                           "Seconds loading may take before the scan gives up");
  scan_command->callback(
      [scan_options] { exit_status() = scan(scan_options->file, scan_options->timeout); });

  // The far end of `isolation: process`, started by the host, never by hand: hidden from help.
  // --type and --step only make `ps` readable; the host sends everything else over stdin, so
  // their values are stored nowhere.
  auto* worker_command = plugins->add_subcommand(
      "worker", "Run one plug-in for a host that isolates it (started by the host)");
  worker_command->group("");
  worker_command->add_option("--type", "The plug-in type (informational)");
  worker_command->add_option("--step", "The step (informational)");
  worker_command->callback([] { exit_status() = host::isolation::run_worker(); });

  struct ListOptions {
    std::string registration;
    bool json = false;
  };
  auto list_options = std::make_shared<ListOptions>();
  auto* list_command =
      plugins->add_subcommand("list", "Show every plug-in library and type with its status");
  list_command->add_option("-c,--config", list_options->registration, "The registration YAML file")
      ->required();
  list_command->add_flag("--json", list_options->json, "Print JSON");
  list_command->callback([list_options] {
    try {
      // Refusals are the output here, not warnings to repeat on stderr.
      host::log::configure("error", "text");
      const host::catalog::PluginCatalog catalog(read_catalog_settings(list_options->registration));
      if (list_options->json) {
        print_json(catalog);
      } else {
        print_text(catalog);
      }
    } catch (const std::exception& e) {
      std::cerr << "stepline plugins list: " << e.what() << std::endl;
      exit_status() = 2;
    }
  });
});

}  // namespace
}  // namespace stepline::cli
