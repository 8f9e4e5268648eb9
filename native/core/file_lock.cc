#include "core/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace urlsession {
namespace {

// The pid at the start of the file, or 0 when it holds anything but digits (and a newline).
long ReadPid(int fd) {
  char text[32];
  ssize_t n;
  do { n = pread(fd, text, sizeof(text) - 1, 0); } while (n < 0 && errno == EINTR);
  if (n <= 0) return 0;
  text[n] = '\0';
  char* end = nullptr;
  long pid = std::strtol(text, &end, 10);
  if (end == text || (*end != '\0' && *end != '\n') || pid <= 0) return 0;
  return pid;
}

// Information only: a failure (a full disk) leaves the lock as good as it is.
void WritePid(int fd) {
  std::string text = std::to_string(getpid());
  // Written before the old tail is cut, so that a reader never finds the file empty.
  if (pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size())) {
    (void)ftruncate(fd, static_cast<off_t>(text.size()));
  }
}

FileLockResult Refused(int fd, FileLockStatus status, int error = 0) {
  close(fd);
  FileLockResult result;
  result.status = status;
  result.error = error;
  return result;
}

}  // namespace

FileLockResult LockFile(const std::string& path) {
  // The lock file's one job is to be the object the lock is taken on; the pid in it is only
  // for the message of whoever is turned away. O_CREAT without O_EXCL: the file persists across
  // owners. O_NOFOLLOW: a symlink planted at the path is refused (ELOOP), not followed.
  // O_NONBLOCK: opening a FIFO does not wait for a writer. O_CLOEXEC: a program this process
  // starts must not inherit the lock and keep it after we die.
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) {
    FileLockResult result;
    result.error = errno;
    return result;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) return Refused(fd, FileLockStatus::kFailed, errno);
  if (!S_ISREG(st.st_mode)) return Refused(fd, FileLockStatus::kNotRegularFile);
  if (st.st_uid != geteuid()) return Refused(fd, FileLockStatus::kNotOwned);
  int locked;
  do { locked = flock(fd, LOCK_EX | LOCK_NB); } while (locked != 0 && errno == EINTR);
  if (locked != 0) {
    int error = errno;
    if (error != EWOULDBLOCK) return Refused(fd, FileLockStatus::kFailed, error);
    long holder = ReadPid(fd);
    FileLockResult result = Refused(fd, FileLockStatus::kHeld);
    result.holder = holder;
    return result;
  }
  // Ours: private, whatever an older version or a umask left.
  if ((st.st_mode & 07777) != 0600) (void)fchmod(fd, 0600);
  WritePid(fd);
  FileLockResult result;
  result.status = FileLockStatus::kLocked;
  result.fd = fd;
  return result;
}

void UnlockFile(int fd) {
  if (fd < 0) return;
  // Closing releases the lock (this is the description's only descriptor); LOCK_UN first says so.
  (void)flock(fd, LOCK_UN);
  close(fd);
}

}  // namespace urlsession
