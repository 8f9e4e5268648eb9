// An exclusive OS lock on a file: flock(2) on an open file description that stays open for as
// long as the lock is held. The kernel drops it when the last descriptor of that description
// closes, so a process that dies (even by SIGKILL) releases it at once, and no reused pid or
// stale file can keep it. flock locks belong to the open file description, not the process:
// two opens in one process (two sessions, two worker threads) exclude each other too.
// Plain C++17 and POSIX (Linux and macOS). Never blocks: LOCK_NB, and O_NONBLOCK at open so
// that a FIFO planted at the path cannot stall the caller (lib/ calls this on the JS thread).
#pragma once

#include <string>

namespace urlsession {

enum class FileLockStatus {
  kLocked,          // fd holds the lock until it is closed (UnlockFile)
  kHeld,            // another open file description holds it; holder is its pid when known
  kNotRegularFile,  // the path is a FIFO, a directory, a device, ...: refused, never read
  kNotOwned,        // the file belongs to another user: refused
  kFailed,          // a system call failed: error says which errno (ELOOP for a symlink)
};

struct FileLockResult {
  FileLockStatus status = FileLockStatus::kFailed;
  int fd = -1;
  int error = 0;
  // The pid the holder wrote into the file when it took the lock: information for a message,
  // never a decision (0 when the file holds no pid).
  long holder = 0;
};

// Opens (creating it 0600 when missing) and locks `path`; on success writes our pid into it.
// The file is never deleted by anyone: see lib/journal.ts for why that matters.
FileLockResult LockFile(const std::string& path);

// Releases a lock LockFile took, by closing its descriptor.
void UnlockFile(int fd);

}  // namespace urlsession
