// The broker's source of random ids (lock tokens, message ids): one generator per thread, seeded
// with 256 bits from the system's entropy. Seeded with one 32-bit word, as std::mt19937_64's
// constructor takes, any two of the threads ever started (across restarts, too) would share a
// sequence with a chance of one in 2^32, and after some 77,000 thread starts that would more
// likely than not have happened once.
#pragma once

#include <random>

namespace stepline::broker {

inline std::mt19937_64& thread_random() {
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seeds{device(), device(), device(), device(),
                        device(), device(), device(), device()};
    return std::mt19937_64(seeds);
  }();
  return engine;
}

}  // namespace stepline::broker
