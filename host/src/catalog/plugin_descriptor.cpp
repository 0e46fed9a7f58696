#include <stepline/host/catalog/plugin_descriptor.hpp>

// Boost.DLL 1.74's library_info uses std::vector without including it.
#include <vector>

#include <algorithm>
#include <cstddef>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <boost/dll/library_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <stepline/api.hpp>
#include <stepline/fingerprint.hpp>

#include <stepline/format/format.hpp>

#include "description_json.hpp"
#include "untrusted_json.hpp"

namespace stepline::host::catalog {
namespace {

// The fields a version-1 descriptor must at least have for the host to read its types.
constexpr std::uint32_t minimum_descriptor_size =
    offsetof(stepline_descriptor, types_end) + sizeof(stepline_descriptor::types_end);
constexpr std::uint32_t minimum_type_size =
    offsetof(stepline_plugin_type, destroy) + sizeof(stepline_plugin_type::destroy);

}  // namespace

LibraryDescription host_description() {
  return {STEPLINE_ABI_MAJOR,   STEPLINE_ABI_MINOR,         sizeof(stepline_descriptor),
          STEPLINE_SDK_VERSION, STEPLINE_BUILD_FINGERPRINT, {}};
}

LibraryDescription describe(const stepline_descriptor& d) {
  LibraryDescription out;
  out.abi_major = d.abi_major;
  out.abi_minor = d.abi_minor;
  out.struct_size = d.struct_size;
  // A descriptor of another ABI major may be laid out differently: trust only the first fields.
  if (d.abi_major != STEPLINE_ABI_MAJOR || d.struct_size < minimum_descriptor_size) return out;
  out.sdk_version = d.sdk_version ? d.sdk_version : "";
  out.fingerprint = d.fingerprint ? d.fingerprint : "";
  if (d.types_begin && d.types_end) {
    for (auto it = d.types_begin; it != d.types_end; ++it) {
      const stepline_plugin_type* t = *it;
      if (!t || t->struct_size < minimum_type_size || !t->name) break;
      out.types.push_back({t->name, t->version ? t->version : ""});
    }
  }
  return out;
}

LibraryDescription examine_library(const std::filesystem::path& file) {
  using Kind = ExamineError::Kind;
  const auto absolute = std::filesystem::absolute(file);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(absolute, ec)) {
    throw ExamineError(Kind::load_failed, fmt::format("{}: no such file", absolute.string()));
  }
  // First look without running anything: a library without the type table is not ours.
  std::vector<std::string> sections;
  try {
    boost::dll::library_info info(absolute);
    sections = info.sections();
  } catch (const std::exception& e) {
    throw ExamineError(Kind::not_a_plugin,
                       fmt::format("{}: not a shared library this host can read ({})",
                                   absolute.string(), e.what()));
  }
  if (std::find(sections.begin(), sections.end(), STEPLINE_TYPES_SECTION) == sections.end()) {
    throw ExamineError(Kind::not_a_plugin,
                       fmt::format("{}: not a Stepline plug-in (it has no '{}' section); build "
                                   "plug-ins with stepline_add_plugin() and export each type "
                                   "with STEPLINE_PLUGIN",
                                   absolute.string(), STEPLINE_TYPES_SECTION));
  }
  boost::dll::shared_library library;
  try {
    library.load(absolute, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw ExamineError(Kind::load_failed,
                       fmt::format("{}: cannot be loaded: {}", absolute.string(), e.what()));
  }
  if (!library.has(STEPLINE_DESCRIPTOR_SYMBOL)) {
    throw ExamineError(Kind::not_a_plugin,
                       fmt::format("{}: not a Stepline plug-in (it exports no '{}'); include "
                                   "<stepline/plugin.hpp> and export a type with STEPLINE_PLUGIN",
                                   absolute.string(), STEPLINE_DESCRIPTOR_SYMBOL));
  }
  return describe(library.get<const stepline_descriptor>(STEPLINE_DESCRIPTOR_SYMBOL));
}

std::optional<std::string> incompatibility(const std::filesystem::path& file,
                                           const LibraryDescription& library) {
  const LibraryDescription host = host_description();
  if (library.abi_major != host.abi_major) {
    return fmt::format(
        "{}: built for plug-in ABI {}.{} but this host speaks ABI {}.{}; rebuild the library "
        "against Stepline SDK {}",
        file.string(), library.abi_major, library.abi_minor, host.abi_major, host.abi_minor,
        host.sdk_version);
  }
  if (library.abi_minor > host.abi_minor) {
    return fmt::format(
        "{}: built for plug-in ABI {}.{}, newer than this host's ABI {}.{} (SDK {} against {}); "
        "upgrade the host or rebuild the library against SDK {}",
        file.string(), library.abi_major, library.abi_minor, host.abi_major, host.abi_minor,
        library.sdk_version, host.sdk_version, host.sdk_version);
  }
  if (library.struct_size < minimum_descriptor_size) {
    return fmt::format("{}: its descriptor is {} bytes, shorter than the {} bytes of ABI {}.{}",
                       file.string(), library.struct_size, minimum_descriptor_size, host.abi_major,
                       host.abi_minor);
  }
  if (library.fingerprint != host.fingerprint) {
    return fmt::format(
        "{}: built with '{}' but this host was built with '{}'; rebuild the library with the "
        "host's compiler, standard library, -std and Boost",
        file.string(), library.fingerprint, host.fingerprint);
  }
  if (library.types.empty()) {
    return fmt::format("{}: exports no plug-in type; export one with STEPLINE_PLUGIN",
                       file.string());
  }
  return std::nullopt;
}

std::string to_json(const LibraryDescription& description) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  write_description(writer, description);
  return {buffer.GetString(), buffer.GetSize()};
}

LibraryDescription library_description_from_json(std::string_view json) {
  rapidjson::Document doc;
  try {
    input::read_json_document(json, doc, format::max_nesting);
  } catch (const format::FormatError& e) {
    throw std::runtime_error(std::string("the scanner's output is not JSON: ") + e.what());
  }
  return read_description(doc);
}

}  // namespace stepline::host::catalog
