// The batching VFS (stepline/host/store/wal_batching_vfs.hpp): a shim whose files are the parent
// VFS's files with a write buffer in front of each write-ahead log.
//
// SQLite writes a commit's frames in order at the end of the log, each as a 24-byte header (whose
// bytes 4-7 hold the database size after a commit frame, 0 in any other) then its page, and
// publishes the commit in the shared-memory index only after the last write returned. So the
// appends are held until the commit frame's page, written out with it, and that write's result
// is the commit's. Anything else on the file writes out what is held first, so reads see every
// byte written and the file never holds a frame a reader could be told about but not find.
#include <stepline/host/store/wal_batching_vfs.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>

namespace stepline::host::store {
namespace {

constexpr int frame_header_size = 24;
/// What is held is written out before it grows past this: a commit of more pages is written in
/// several writes. The platform VFS writes at most 128 KiB - 1 bytes at a time (it masks the
/// size to 17 bits and takes a short write for a full disk), and 31 frames of 4 KiB pages fit.
constexpr std::size_t most_held = (std::size_t{128} << 10) - 1;

struct BatchingVfs {
  sqlite3_vfs vfs{};
  sqlite3_vfs* parent = nullptr;
  std::string name;
};

struct File {
  sqlite3_file base;    // pMethods: ours, or null when the parent's open left none
  sqlite3_file* real;   // the parent's file, in the same allocation after this header
  bool wal;             // only a write-ahead log holds writes
  unsigned char* held;  // appended bytes not yet written
  std::size_t held_size;
  std::size_t capacity;
  sqlite3_int64 held_at;  // where held[0] goes
  sqlite3_int64 page_at;  // where the page of the frame header just written goes; -1: none
  bool commit_page;       // that header is a commit frame's: its page ends the commit
  bool page_through;      // that header was written at once: so is its page
};

constexpr int header_size = static_cast<int>((sizeof(File) + 7) / 8 * 8);

File* file_of(sqlite3_file* f) {
  return reinterpret_cast<File*>(f);
}
const sqlite3_io_methods& real_methods(File* f) {
  return *f->real->pMethods;
}

int write_out(File* f) {
  if (f->held_size == 0) return SQLITE_OK;
  const int rc =
      real_methods(f).xWrite(f->real, f->held, static_cast<int>(f->held_size), f->held_at);
  f->held_size = 0;
  return rc;
}

/// Writes out what is held and forgets the frame in progress: before any other call on the log.
int settle(File* f) {
  f->page_at = -1;
  f->commit_page = f->page_through = false;
  return write_out(f);
}

bool reserve(File* f, std::size_t size) {
  if (size <= f->capacity) return true;
  std::size_t capacity = std::max<std::size_t>(f->capacity * 2, 64 << 10);
  while (capacity < size) capacity *= 2;
  capacity = std::min(capacity, most_held);
  if (capacity < size) return false;
  auto* grown = static_cast<unsigned char*>(std::realloc(f->held, capacity));
  if (!grown) return false;
  f->held = grown;
  f->capacity = capacity;
  return true;
}

int write_now(File* f, const void* data, int n, sqlite3_int64 offset) {
  return real_methods(f).xWrite(f->real, data, n, offset);
}

/// Adds `data` to what is held (a run of bytes at increasing offsets), writing out first what
/// it cannot follow; false when it cannot be held (no memory), and nothing was held.
int hold(File* f, const void* data, int n, sqlite3_int64 offset, bool& held) {
  held = false;
  const auto size = static_cast<std::size_t>(n);
  const bool follows =
      f->held_size > 0 && offset == f->held_at + static_cast<sqlite3_int64>(f->held_size);
  if ((f->held_size > 0 && !follows) || f->held_size + size > most_held)
    if (const int rc = write_out(f); rc != SQLITE_OK) return rc;
  if (size > most_held || !reserve(f, f->held_size + size)) return SQLITE_OK;
  if (f->held_size == 0) f->held_at = offset;
  std::memcpy(f->held + f->held_size, data, size);
  f->held_size += size;
  held = true;
  return SQLITE_OK;
}

// What SQLite writes to a log: its 32-byte header at offset 0 when the log starts (over), then
// for each frame of a transaction its 24-byte header and its page, in order; within the
// transaction a page it wrote already may be written again in place (a page alone), and after a
// commit that did, the frames' headers again with new checksums (headers alone, each after a
// read). A frame's page is held only after its own header; a commit frame's header that starts
// a run (a transaction of one frame, or the last checksum rewritten) is written at once, and its
// page too, so that nothing of a commit is ever held past it.
int x_write(sqlite3_file* file, const void* data, int n, sqlite3_int64 offset) {
  File* f = file_of(file);
  if (!f->wal) return write_now(f, data, n, offset);
  bool held = false;
  if (n == frame_header_size) {
    const auto* b = static_cast<const unsigned char*>(data);
    const bool commit = (b[4] | b[5] | b[6] | b[7]) != 0;
    const bool follows =
        f->held_size > 0 && offset == f->held_at + static_cast<sqlite3_int64>(f->held_size);
    f->page_at = offset + n;
    f->commit_page = commit;
    f->page_through = false;
    if (commit && !follows) {
      if (const int rc = write_out(f); rc != SQLITE_OK) return rc;
      f->page_through = true;
      return write_now(f, data, n, offset);
    }
    if (const int rc = hold(f, data, n, offset, held); rc != SQLITE_OK) return rc;
    if (!held) {
      f->page_through = true;
      return write_now(f, data, n, offset);
    }
    return SQLITE_OK;
  }
  if (offset == 0) {  // the log's own header: a new log, its first frames to follow
    if (const int rc = settle(f); rc != SQLITE_OK) return rc;
    if (const int rc = hold(f, data, n, offset, held); rc != SQLITE_OK) return rc;
    return held ? SQLITE_OK : write_now(f, data, n, offset);
  }
  if (offset == f->page_at && !f->page_through) {  // the page of the frame header just held
    const bool commit = f->commit_page;
    f->page_at = -1;
    f->commit_page = false;
    if (const int rc = hold(f, data, n, offset, held); rc != SQLITE_OK) return rc;
    if (!held) return write_now(f, data, n, offset);  // what was held went before it
    return commit ? write_out(f) : SQLITE_OK;
  }
  // A page written in place, the page of a header written at once, anything else: now, after
  // what is held.
  if (const int rc = settle(f); rc != SQLITE_OK) return rc;
  return write_now(f, data, n, offset);
}

int x_close(sqlite3_file* file) {
  File* f = file_of(file);
  const int written = settle(f);
  const int rc = real_methods(f).xClose(f->real);
  std::free(f->held);
  f->held = nullptr;
  f->capacity = 0;
  return rc != SQLITE_OK ? rc : written;
}

int x_read(sqlite3_file* file, void* data, int n, sqlite3_int64 offset) {
  File* f = file_of(file);
  if (const int rc = settle(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xRead(f->real, data, n, offset);
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = file_of(file);
  if (const int rc = settle(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
  File* f = file_of(file);
  if (const int rc = settle(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  File* f = file_of(file);
  if (const int rc = settle(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xFileSize(f->real, size);
}

int x_lock(sqlite3_file* file, int level) {
  File* f = file_of(file);
  return real_methods(f).xLock(f->real, level);
}
int x_unlock(sqlite3_file* file, int level) {
  File* f = file_of(file);
  return real_methods(f).xUnlock(f->real, level);
}
int x_check_reserved_lock(sqlite3_file* file, int* out) {
  File* f = file_of(file);
  return real_methods(f).xCheckReservedLock(f->real, out);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
  File* f = file_of(file);
  if (const int rc = settle(f); rc != SQLITE_OK) return rc;
  const int rc = real_methods(f).xFileControl(f->real, op, arg);
  // The VFS stack's names (PRAGMA vfs_list and the like) carry this layer's.
  if (op == SQLITE_FCNTL_VFSNAME && rc == SQLITE_OK) {
    auto** names = static_cast<char**>(arg);
    *names = sqlite3_mprintf("wal-batching/%z", *names);
  }
  return rc;
}

int x_sector_size(sqlite3_file* file) {
  File* f = file_of(file);
  return real_methods(f).xSectorSize(f->real);
}
int x_device_characteristics(sqlite3_file* file) {
  File* f = file_of(file);
  return real_methods(f).xDeviceCharacteristics(f->real);
}

int x_shm_map(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  File* f = file_of(file);
  return real_methods(f).xShmMap(f->real, page, size, extend, out);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  File* f = file_of(file);
  return real_methods(f).xShmLock(f->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* file) {
  File* f = file_of(file);
  real_methods(f).xShmBarrier(f->real);
}
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  File* f = file_of(file);
  return real_methods(f).xShmUnmap(f->real, delete_flag);
}
int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int n, void** out) {
  File* f = file_of(file);
  if (const int rc = settle(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xFetch(f->real, offset, n, out);
}
int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  File* f = file_of(file);
  return real_methods(f).xUnfetch(f->real, offset, p);
}

/// One table per version of the parent's file methods, so that SQLite sees what the parent's
/// file can do (shared memory from version 2, memory mapping from 3) and no more.
constexpr sqlite3_io_methods methods_of_version(int version) {
  return sqlite3_io_methods{version,
                            x_close,
                            x_read,
                            x_write,
                            x_truncate,
                            x_sync,
                            x_file_size,
                            x_lock,
                            x_unlock,
                            x_check_reserved_lock,
                            x_file_control,
                            x_sector_size,
                            x_device_characteristics,
                            version >= 2 ? x_shm_map : nullptr,
                            version >= 2 ? x_shm_lock : nullptr,
                            version >= 2 ? x_shm_barrier : nullptr,
                            version >= 2 ? x_shm_unmap : nullptr,
                            version >= 3 ? x_fetch : nullptr,
                            version >= 3 ? x_unfetch : nullptr};
}
const sqlite3_io_methods methods[3] = {methods_of_version(1), methods_of_version(2),
                                       methods_of_version(3)};

sqlite3_vfs* parent_of(sqlite3_vfs* vfs) {
  return static_cast<BatchingVfs*>(vfs->pAppData)->parent;
}

int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = file_of(file);
  std::memset(f, 0, sizeof(File));
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + header_size);
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->page_at = -1;
  sqlite3_vfs* parent = parent_of(vfs);
  const int rc = parent->xOpen(parent, name, f->real, flags, out_flags);
  if (f->real->pMethods) {
    const int version = std::clamp(f->real->pMethods->iVersion, 1, 3);
    f->base.pMethods = &methods[version - 1];
  }
  return rc;
}

int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return parent_of(vfs)->xDelete(parent_of(vfs), name, sync_dir);
}
int x_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return parent_of(vfs)->xAccess(parent_of(vfs), name, flags, out);
}
int x_full_pathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return parent_of(vfs)->xFullPathname(parent_of(vfs), name, n, out);
}
void* x_dl_open(sqlite3_vfs* vfs, const char* name) {
  return parent_of(vfs)->xDlOpen(parent_of(vfs), name);
}
void x_dl_error(sqlite3_vfs* vfs, int n, char* out) {
  parent_of(vfs)->xDlError(parent_of(vfs), n, out);
}
void (*x_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return parent_of(vfs)->xDlSym(parent_of(vfs), handle, symbol);
}
void x_dl_close(sqlite3_vfs* vfs, void* handle) {
  parent_of(vfs)->xDlClose(parent_of(vfs), handle);
}
int x_randomness(sqlite3_vfs* vfs, int n, char* out) {
  return parent_of(vfs)->xRandomness(parent_of(vfs), n, out);
}
int x_sleep(sqlite3_vfs* vfs, int microseconds) {
  return parent_of(vfs)->xSleep(parent_of(vfs), microseconds);
}
int x_current_time(sqlite3_vfs* vfs, double* out) {
  return parent_of(vfs)->xCurrentTime(parent_of(vfs), out);
}
int x_get_last_error(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* parent = parent_of(vfs);
  return parent->xGetLastError ? parent->xGetLastError(parent, n, out) : 0;
}
int x_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return parent_of(vfs)->xCurrentTimeInt64(parent_of(vfs), out);
}
int x_set_system_call(sqlite3_vfs* vfs, const char* name, sqlite3_syscall_ptr call) {
  return parent_of(vfs)->xSetSystemCall(parent_of(vfs), name, call);
}
sqlite3_syscall_ptr x_get_system_call(sqlite3_vfs* vfs, const char* name) {
  return parent_of(vfs)->xGetSystemCall(parent_of(vfs), name);
}
const char* x_next_system_call(sqlite3_vfs* vfs, const char* name) {
  return parent_of(vfs)->xNextSystemCall(parent_of(vfs), name);
}

}  // namespace

const char* register_wal_batching_vfs(const char* name, const char* parent_name) {
  // Registered VFSes are never unregistered: connections may use them until the process ends.
  static std::mutex mutex;
  static std::list<BatchingVfs> registered;
  std::lock_guard lock(mutex);
  for (const auto& shim : registered)
    if (shim.name == name) return shim.name.c_str();
  sqlite3_vfs* parent = sqlite3_vfs_find(parent_name);
  if (!parent)
    throw std::runtime_error(std::string("SQLite has no VFS named '") +
                             (parent_name ? parent_name : "(default)") + "'");
  auto& shim = registered.emplace_back();
  shim.parent = parent;
  shim.name = name;
  sqlite3_vfs& v = shim.vfs;
  v.iVersion = std::min(parent->iVersion, 3);
  v.szOsFile = header_size + parent->szOsFile;
  v.mxPathname = parent->mxPathname;
  v.zName = shim.name.c_str();
  v.pAppData = &shim;
  v.xOpen = x_open;
  v.xDelete = x_delete;
  v.xAccess = x_access;
  v.xFullPathname = x_full_pathname;
  v.xDlOpen = parent->xDlOpen ? x_dl_open : nullptr;
  v.xDlError = parent->xDlError ? x_dl_error : nullptr;
  v.xDlSym = parent->xDlSym ? x_dl_sym : nullptr;
  v.xDlClose = parent->xDlClose ? x_dl_close : nullptr;
  v.xRandomness = x_randomness;
  v.xSleep = x_sleep;
  v.xCurrentTime = x_current_time;
  v.xGetLastError = x_get_last_error;
  if (v.iVersion >= 2) v.xCurrentTimeInt64 = x_current_time_int64;
  if (v.iVersion >= 3) {
    v.xSetSystemCall = parent->xSetSystemCall ? x_set_system_call : nullptr;
    v.xGetSystemCall = parent->xGetSystemCall ? x_get_system_call : nullptr;
    v.xNextSystemCall = parent->xNextSystemCall ? x_next_system_call : nullptr;
  }
  if (const int rc = sqlite3_vfs_register(&v, 0); rc != SQLITE_OK) {
    registered.pop_back();
    throw std::runtime_error(std::string("cannot register SQLite VFS '") + name +
                             "': " + sqlite3_errstr(rc));
  }
  return v.zName;
}

const char* wal_batching_vfs() {
  static const char* const name = register_wal_batching_vfs("stepline-wal-batching", nullptr);
  return name;
}

}  // namespace stepline::host::store
