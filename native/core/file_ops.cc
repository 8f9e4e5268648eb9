#include "core/file_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cctype>
#include <cstdio>

namespace urlsession {
namespace {

std::string Join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

// "report.pdf" -> "report-3.pdf"; names starting with '.' keep it (".env" -> ".env-3").
std::string NumberedName(const std::string& name, int n) {
  size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return name + "-" + std::to_string(n);
  return name.substr(0, dot) + "-" + std::to_string(n) + name.substr(dot);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

int EnsureDirectory(const std::string& dir, unsigned mode) {
  if (dir.empty()) return ENOENT;
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    int parent = EnsureDirectory(dir.substr(0, slash), mode);
    if (parent != 0) return parent;
  }
  if (mkdir(dir.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) return errno;
  return 0;
}

int CreatePartialFile(const std::string& dir, const std::string& name, std::string* partialPath) {
  int err = EnsureDirectory(dir);
  if (err != 0) return -err;
  // A counter plus the pid keeps names unique across tasks, sessions and processes
  // sharing one folder; O_EXCL guarantees we never write into somebody else's file.
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string candidate = Join(dir, "." + name + "." + std::to_string(getpid()) + "-" +
                                          std::to_string(counter.fetch_add(1)) + ".partial");
    int fd = open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      *partialPath = candidate;
      return fd;
    }
    if (errno != EEXIST) return -errno;
  }
  return -EEXIST;
}

// The source lives on another file system (an OS temp folder): copy it next to the
// destination first, so the final step is still a same-folder link or rename.
static int CommitByCopy(const std::string& sourcePath, const std::string& dir, const std::string& name,
                        std::string* finalPath, bool overwrite) {
  std::string local;
  int out = CreatePartialFile(dir, name, &local);
  if (out < 0) return -out;
  int in = open(sourcePath.c_str(), O_RDONLY | O_CLOEXEC);
  int err = in < 0 ? errno : 0;
  char buffer[1 << 16];
  while (err == 0) {
    ssize_t n = read(in, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) err = errno;
      break;
    }
    for (ssize_t done = 0; done < n && err == 0;) {
      ssize_t w = write(out, buffer + done, static_cast<size_t>(n - done));
      if (w < 0 && errno != EINTR) err = errno;
      if (w > 0) done += w;
    }
  }
  if (in >= 0) close(in);
  if (err == 0 && fsync(out) != 0) err = errno;
  if (close(out) != 0 && err == 0) err = errno;
  if (err == 0) err = CommitPartialFile(local, dir, name, finalPath, overwrite);
  if (err != 0) {
    unlink(local.c_str());
    return err;
  }
  unlink(sourcePath.c_str());
  return 0;
}

int CommitPartialFile(const std::string& partialPath, const std::string& dir, const std::string& name,
                      std::string* finalPath, bool overwrite) {
  int err = EnsureDirectory(dir);
  if (err != 0) return err;
  if (overwrite) {
    std::string target = Join(dir, name);
    if (rename(partialPath.c_str(), target.c_str()) != 0) {
      return errno == EXDEV ? CommitByCopy(partialPath, dir, name, finalPath, overwrite) : errno;
    }
    *finalPath = target;
    return 0;
  }
  for (int n = 0; n < 10000; ++n) {
    std::string candidate = Join(dir, n == 0 ? name : NumberedName(name, n));
    // link() fails with EEXIST instead of replacing, which rename() would do silently.
    if (link(partialPath.c_str(), candidate.c_str()) == 0) {
      unlink(partialPath.c_str());
      *finalPath = candidate;
      return 0;
    }
    if (errno == EEXIST) continue;
    if (errno == EXDEV) return CommitByCopy(partialPath, dir, name, finalPath, overwrite);
    // File systems without hard links: rename when the name is free (small race accepted).
    struct stat st;
    if (lstat(candidate.c_str(), &st) == 0) continue;
    if (rename(partialPath.c_str(), candidate.c_str()) == 0) {
      *finalPath = candidate;
      return 0;
    }
    return errno;
  }
  return EEXIST;
}

int ReopenPartialFile(const std::string& partialPath, int64_t offset) {
  int fd = open(partialPath.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < offset) {
    int err = st.st_size < offset ? ERANGE : errno;
    close(fd);
    return -err;
  }
  if (ftruncate(fd, static_cast<off_t>(offset)) != 0 || lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

void DiscardPartialFile(const std::string& partialPath) {
  if (!partialPath.empty()) unlink(partialPath.c_str());
}

std::string SanitizeFileName(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ':') {
      out.push_back('_');
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  // Leading dots would hide the file (and ".." would climb); trailing dots and spaces are
  // invalid on some file systems.
  size_t start = out.find_first_not_of(". ");
  out = start == std::string::npos ? std::string() : out.substr(start);
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  if (out.size() > 200) out.resize(200);
  if (out.empty()) out = "download";
  // Device names that Windows file systems (SMB shares, exFAT on macOS) refuse, with or
  // without an extension: CON, PRN, AUX, NUL, COM1-9, LPT1-9.
  std::string stem = out.substr(0, out.find('.'));
  for (char& c : stem) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  bool reserved = stem == "CON" || stem == "PRN" || stem == "AUX" || stem == "NUL" ||
                  (stem.size() == 4 && (stem.compare(0, 3, "COM") == 0 || stem.compare(0, 3, "LPT") == 0) &&
                   stem[3] >= '1' && stem[3] <= '9');
  if (reserved) out = "_" + out;
  return out;
}

std::string FileNameFromUrl(const std::string& url) {
  size_t scheme = url.find("://");
  size_t path_start = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path_start == std::string::npos) return "";
  size_t path_end = url.find_first_of("?#", path_start);
  std::string path = url.substr(path_start, path_end == std::string::npos ? std::string::npos : path_end - path_start);
  size_t last = path.find_last_of('/');
  std::string segment = path.substr(last + 1);
  std::string decoded;
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] == '%' && i + 2 < segment.size() && HexDigit(segment[i + 1]) >= 0 && HexDigit(segment[i + 2]) >= 0) {
      decoded.push_back(static_cast<char>(HexDigit(segment[i + 1]) * 16 + HexDigit(segment[i + 2])));
      i += 2;
    } else {
      decoded.push_back(segment[i]);
    }
  }
  return decoded;
}

std::string DefaultDownloadName(const std::string& url) { return SanitizeFileName(FileNameFromUrl(url)); }

}  // namespace urlsession
