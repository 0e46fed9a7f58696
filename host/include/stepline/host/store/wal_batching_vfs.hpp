// An SQLite VFS that writes a transaction's write-ahead-log frames with one system call.
//
// SQLite appends each frame of a commit to the WAL with two writes, its 24-byte header and its
// page: a commit of 14 pages is 28 `pwrite`s, each paying the system call and the file system's
// per-call work (locks, timestamps), and all of it inside the write lock every other writer
// waits on. This VFS sits over another one (the platform's by default) and keeps the frames a
// connection appends to its WAL in a buffer, written as one `pwrite` when the commit frame's page
// arrives, before SQLite publishes the commit to readers; a commit's failure to write (a full
// disk) is that last write's failure, so SQLite rolls the transaction back as before.
//
// Only appends are held, and never past the commit frame: a frame rewritten in place, the
// checksum rewrite of a transaction that overwrote its own frames, and every other call on the
// file (read, sync, truncate, size, file control, close) write out what is held first. What
// reaches the file, and when a commit becomes visible, are what they were without it; a process
// killed before the commit frame loses only a transaction it had not committed.
#pragma once

namespace stepline::host::store {

/// Registers (once per process) and returns the name of the batching VFS over the process's
/// default VFS; `open_database` opens every store connection through it.
const char* wal_batching_vfs();

/// Registers a batching VFS named `name` over the VFS named `parent` (for tests that count what
/// reaches the parent) and returns `name`. Throws std::runtime_error when `parent` is unknown.
const char* register_wal_batching_vfs(const char* name, const char* parent);

}  // namespace stepline::host::store
