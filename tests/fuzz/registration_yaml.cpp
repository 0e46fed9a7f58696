// A registration file as `stepline validate`, `run` and `serve` read it: read() collects its
// problems and never throws; a registration without errors describes itself as YAML and JSON.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <stepline/registration/describe.hpp>
#include <stepline/registration/load.hpp>

namespace {

namespace fs = std::filesystem;

// The loader reads files (includes are relative to them), so each input is written to the same
// file of a folder made once per process, and removed at exit. The path is never destroyed: the
// exit handler still needs it after static destructors ran.
const fs::path& registration_file() {
  static const fs::path* file = [] {
    std::string pattern = (fs::temp_directory_path() / "stepline-fuzz-XXXXXX").string();
    if (!mkdtemp(pattern.data())) std::abort();
    auto* path = new fs::path(fs::path(pattern) / "stepline.yaml");
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(registration_file().parent_path(), ignored);
    });
    return path;
  }();
  return *file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path& file = registration_file();
  std::FILE* out = std::fopen(file.c_str(), "wb");
  if (!out || std::fwrite(data, 1, size, out) != size || std::fclose(out) != 0) std::abort();
  auto result = stepline::registration::read(file);
  if (!result.has_errors()) {
    stepline::registration::to_yaml(result.registration);
    stepline::registration::to_json(result.registration);
  }
  return 0;
}
