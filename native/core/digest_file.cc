#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "core/digest.h"

namespace urlsession {

int HashFilePrefix(const std::string& path, int64_t length, Digest* digest) {
  // Only a regular file, and never through a link or by waiting on a FIFO's writer.
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return EPERM;
  }
  std::vector<char> buffer(1 << 20);
  int64_t remaining = length;
  while (remaining > 0) {
    ssize_t n =
        read(fd, buffer.data(), static_cast<size_t>(std::min<int64_t>(remaining, static_cast<int64_t>(buffer.size()))));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n == 0 ? EIO : errno;  // shorter than promised
      close(fd);
      return err;
    }
    digest->Update(buffer.data(), static_cast<size_t>(n));
    remaining -= n;
  }
  close(fd);
  return 0;
}

}  // namespace urlsession
