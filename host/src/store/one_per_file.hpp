// One object per database file per process, shared by whoever opens that file (its write gate,
// its context log), kept for as long as anyone holds it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

namespace stepline::host::store {

/// The object of type T for `file` (the same one for every spelling of its path), made by
/// `make(canonical path)` when nobody holds one.
template <class T, class Make>
std::shared_ptr<T> one_per_file(const std::filesystem::path& file, Make make) {
  static std::mutex registry_mutex;
  static std::map<std::filesystem::path, std::weak_ptr<T>> registry;
  std::error_code ec;
  auto key = std::filesystem::weakly_canonical(file, ec);
  if (ec) key = std::filesystem::absolute(file);
  std::lock_guard lock(registry_mutex);
  std::erase_if(registry, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = registry[key];
  auto object = slot.lock();
  if (!object) slot = object = make(key);
  return object;
}

}  // namespace stepline::host::store
