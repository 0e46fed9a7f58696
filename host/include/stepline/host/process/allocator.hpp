// Process-wide settings for a program that runs the host: the `stepline` executable applies them
// before anything else; a program embedding the host library may call the same function.
#pragma once

namespace stepline::host::process {

/// Keeps up to 1 MiB of freed memory at the top of each malloc arena instead of returning it to
/// the kernel at once. Every operation thread allocates and frees its context, its frozen jobs'
/// contexts and SQLite's buffers; with glibc's default (128 KiB, raised only by large frees) the
/// arenas shrink and grow again all the time, and each shrink is an madvise whose TLB shootdown
/// reaches every core. With 32 concurrent operations that was a quarter of the host's CPU and
/// halved its throughput (docs/JOBS.md "Throughput"). Resident memory grows by at most the kept
/// memory of the arenas in use (a few MiB). Blocks up to 512 KiB come from the arenas, larger
/// ones are mapped on their own. Leaves the setting alone when the environment sets
/// it (GLIBC_TUNABLES=glibc.malloc.trim_threshold=...). Call once, early, before threads start.
void tune_allocator();

}  // namespace stepline::host::process
