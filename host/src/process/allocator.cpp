// Process-wide settings for a program that runs the host (stepline/host/process/allocator.hpp).
#include <stepline/host/process/allocator.hpp>

#include <malloc.h>

#include <cstdlib>
#include <string_view>

namespace stepline::host::process {

void tune_allocator() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables &&
      std::string_view(tunables).find("malloc.trim_threshold") != std::string_view::npos)
    return;
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
  // Setting the trim threshold stops glibc from raising its mmap threshold as large blocks are
  // freed, which would leave every block over 128 KiB (the text of a large context) to an mmap
  // and munmap of its own; blocks up to 512 KiB come from the arenas instead.
  mallopt(M_MMAP_THRESHOLD, 512 << 10);
}

}  // namespace stepline::host::process
