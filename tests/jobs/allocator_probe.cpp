// A fresh process for the tune_allocator() tests: malloc's state (its arenas, its mmap threshold,
// the blocks mapped on their own) is process-wide, and a process forked from the test program
// would inherit whatever that program did before. Usage:
//   allocator_probe untouched|tuned kept|mapped
// exits with the measurement (kept: KiB held by the arenas / 8; mapped: 1 or 0), or 255 for a
// wrong command line.
#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <stepline/host/process/allocator.hpp>

namespace {

// A new thread, and so a new arena, allocates 900 KiB in 1 KiB blocks and frees them; how much
// memory the arenas then hold from the system, in units of 8 KiB (an exit status holds 0-254).
int kept() {
  std::thread([] {
    std::vector<void*> blocks(900);
    for (auto& b : blocks) b = std::malloc(1024);
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
  }).join();
  return static_cast<int>(std::min<std::size_t>(mallinfo2().arena / 1024 / 8, 254));
}

// Whether a 300 KiB block is mapped on its own (1) or comes from an arena (0): counted as a
// difference, so blocks mapped before (by the C++ runtime at start) do not count.
int mapped() {
  const std::size_t before = mallinfo2().hblks;
  void* block = std::malloc(300 << 10);
  const std::size_t after = mallinfo2().hblks;
  std::free(block);
  return after > before ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 255;
  if (std::strcmp(argv[1], "tuned") == 0)
    stepline::host::process::tune_allocator();
  else if (std::strcmp(argv[1], "untouched") != 0)
    return 255;
  if (std::strcmp(argv[2], "kept") == 0) return kept();
  if (std::strcmp(argv[2], "mapped") == 0) return mapped();
  return 255;
}
