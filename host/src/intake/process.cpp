// Process-wide settings for a program that runs the host (stepline/host/process.hpp).
#include <stepline/host/process.hpp>

#include <malloc.h>

#include <cstdlib>
#include <string_view>

namespace stepline::host {

void tune_allocator() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::string_view(tunables).find("malloc.trim_threshold") != std::string_view::npos)
    return;
  // Also fixes glibc's mmap threshold at its 128 KiB default (it no longer adapts), which the
  // host's allocations, contexts of a few KiB, never reach in the steady state.
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
}

}  // namespace stepline::host
