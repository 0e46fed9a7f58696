// The process's own figures, read from /proc/self at each scrape: the process_* metrics that
// Prometheus's client libraries export on Linux (CPU time, memory, file descriptors, start time,
// threads), and the CPU time of the process's threads by name, which says which of its threads
// is the busy one.
#pragma once

#include <cstddef>
#include <string>

#include <stepline/prometheus/registry.hpp>

namespace stepline::prometheus {

/// Adds process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
/// process_open_fds, process_max_fds, process_start_time_seconds and process_threads. A figure
/// that cannot be read (no /proc) stays at 0.
void add_process_metrics(Registry& registry);

/// Adds the counter family `name`{thread} (a name ending in `_total`): the CPU time, user and
/// system, of the process's threads by name, threads of the same name summed. What a thread
/// spent up to the last scrape before it ended stays counted. Names past `series_limit` count
/// under "overflow".
void add_thread_cpu_metrics(Registry& registry, const std::string& name, const std::string& help,
                            std::size_t series_limit = 64);

}  // namespace stepline::prometheus
