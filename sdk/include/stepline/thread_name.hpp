// Names the calling thread as `top -H`, `ps -L`, perf and debuggers show it, so an operator can
// tell a host's intake from its workers. Linux keeps 15 characters; a longer name is cut.
#pragma once

#include <string>
#include <string_view>

#include <pthread.h>

namespace stepline {

inline void name_this_thread(std::string_view name) noexcept {
  std::string cut(name.substr(0, 15));
  pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace stepline
