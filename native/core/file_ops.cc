#include "core/file_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/sysmacros.h>
#endif

#include <cerrno>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

namespace urlsession {
namespace {

std::string Join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

size_t Utf8PrefixLength(const std::string& text, size_t limit);

// "report.pdf" -> "report-3.pdf"; names starting with '.' keep it (".env" -> ".env-3"). The
// stem gives way so that the numbered name still fits one path component (255 bytes).
std::string NumberedName(const std::string& name, int n) {
  size_t dot = name.rfind('.');
  std::string stem = dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
  std::string extension = dot == std::string::npos || dot == 0 ? std::string() : name.substr(dot);
  std::string suffix = "-" + std::to_string(n) + extension;
  if (stem.size() + suffix.size() > 255 && suffix.size() < 255)
    stem.resize(Utf8PrefixLength(stem, 255 - suffix.size()));
  return stem + suffix;
}

// The longest prefix of `text` of at most `limit` bytes that does not cut a UTF-8 character.
size_t Utf8PrefixLength(const std::string& text, size_t limit) {
  if (text.size() <= limit) return text.size();
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return end;
}

// 64 bits from the OS's random source (getrandom/urandom on Linux, arc4random on macOS): the
// hidden names of partial files cannot be guessed from public data (pid, counter, identifier).
std::string RandomHex16() {
  std::random_device source;
  uint64_t value = (static_cast<uint64_t>(source()) << 32) ^ source();
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

// Whether `name` (relative to `dirfd`; AT_FDCWD: a path) is still the file `identity`.
bool SameEntryIdentity(int dirfd, const std::string& name, const FileIdentity& identity) {
  struct stat st;
  return identity.Known() && FileIdentity::OfEntry(dirfd, name, &st) == identity;
}

// Removes `name` (relative to `dirfd`; AT_FDCWD: a path) only while it is the file `identity`.
void DiscardEntry(int dirfd, const std::string& name, const FileIdentity& identity) {
  if (!name.empty() && SameEntryIdentity(dirfd, name, identity)) unlinkat(dirfd, name.c_str(), 0);
}

// ReopenPartialFile relative to `dirfd` (AT_FDCWD: a path).
int ReopenEntry(int dirfd, const std::string& name, int64_t offset, const FileIdentity& expected) {
  // O_NONBLOCK: a FIFO planted at the path fails (ENXIO) or opens without waiting for a reader;
  // either way fstat below refuses it. No O_TRUNC: nothing is cut before the checks pass.
  int fd = openat(dirfd, name.c_str(), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return errno == ELOOP || errno == ENXIO ? -EPERM : -errno;
  struct stat st;
  if (FileIdentity::OfDescriptor(fd, &st) != expected || !IsOwnPartialFile(st)) {
    close(fd);
    return -EPERM;
  }
  if (st.st_size < offset) {
    close(fd);
    return -ERANGE;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 || ftruncate(fd, static_cast<off_t>(offset)) != 0 ||
      lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

// The birth time as Node's fs.Stats.birthtimeNs reports it for the same file (libuv reads
// statx's stx_btime on Linux and st_birthtimespec on macOS), so both sides agree.
uint64_t BirthNs(int dirfd, const char* path, int flags, const struct stat& st) {
#if defined(__APPLE__)
  (void)dirfd;
  (void)path;
  (void)flags;
  return static_cast<uint64_t>(st.st_birthtimespec.tv_sec) * 1000000000ull +
         static_cast<uint64_t>(st.st_birthtimespec.tv_nsec);
#elif defined(__linux__) && defined(STATX_BTIME)
  (void)st;
  struct statx sx;
  if (statx(dirfd, path, flags, STATX_BTIME, &sx) != 0) return 0;
  return static_cast<uint64_t>(sx.stx_btime.tv_sec) * 1000000000ull + static_cast<uint64_t>(sx.stx_btime.tv_nsec);
#else
  (void)dirfd;
  (void)path;
  (void)flags;
  (void)st;
  return 0;
#endif
}

FileIdentity IdentityFrom(const struct stat& st, uint64_t birthNs) {
  FileIdentity identity;
  identity.device = static_cast<uint64_t>(st.st_dev);
  identity.inode = static_cast<uint64_t>(st.st_ino);
  identity.birthNs = birthNs;
  return identity;
}

mode_t ReadUmask() {
#if defined(__linux__)
  // Read-only: /proc/self/status has the umask since Linux 4.7.
  if (FILE* status = std::fopen("/proc/self/status", "re")) {
    char line[256];
    while (std::fgets(line, sizeof(line), status) != nullptr) {
      if (std::strncmp(line, "Umask:", 6) == 0) {
        std::fclose(status);
        return static_cast<mode_t>(std::strtoul(line + 6, nullptr, 8) & 0777);
      }
    }
    std::fclose(status);
  }
#endif
  mode_t mask = umask(022);
  umask(mask);
  return mask;
}

// The length of the valid UTF-8 sequence starting at text[i] (1-4), or 0 when it is not one
// (stray continuation byte, truncated sequence, overlong form, surrogate, past U+10FFFF).
size_t Utf8SequenceLength(const std::string& text, size_t i) {
  unsigned char lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) return 1;
  size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
  if (length == 0 || lead > 0xF4 || i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  }
  unsigned char second = static_cast<unsigned char>(text[i + 1]);
  if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second >= 0xA0) || (lead == 0xF0 && second < 0x90) ||
      (lead == 0xF4 && second >= 0x90)) {
    return 0;
  }
  return length;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string FileIdentity::ToString() const {
  if (!Known()) return std::string();
  return std::to_string(device) + ":" + std::to_string(inode) + ":" + std::to_string(birthNs);
}

FileIdentity FileIdentity::Parse(const std::string& text) {
  FileIdentity identity;
  uint64_t fields[3];
  size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    size_t end = i < 2 ? text.find(':', start) : text.size();
    if (end == std::string::npos || end == start || end - start > 20) return FileIdentity();
    for (size_t c = start; c < end; ++c) {
      if (!std::isdigit(static_cast<unsigned char>(text[c]))) return FileIdentity();
    }
    fields[i] = std::strtoull(text.c_str() + start, nullptr, 10);
    start = end + 1;
  }
  identity.device = fields[0];
  identity.inode = fields[1];
  identity.birthNs = fields[2];
  return identity;
}

#if defined(__linux__) && defined(STATX_BTIME)
namespace {

// The stat and the birth time in one statx(2) instead of a stat and a statx: identities are
// taken several times per download. False when statx fails (the caller then falls back to the
// stat family, as on a kernel or sandbox without statx).
bool StatWithBirth(int dirfd, const char* path, int flags, struct stat* st, uint64_t* birthNs) {
  struct statx sx;
  if (statx(dirfd, path, flags, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) return false;
  *st = {};
  st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  st->st_ino = sx.stx_ino;
  st->st_mode = sx.stx_mode;
  st->st_nlink = sx.stx_nlink;
  st->st_uid = sx.stx_uid;
  st->st_gid = sx.stx_gid;
  st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
  st->st_size = static_cast<off_t>(sx.stx_size);
  st->st_blksize = static_cast<blksize_t>(sx.stx_blksize);
  st->st_blocks = static_cast<blkcnt_t>(sx.stx_blocks);
  st->st_atim = {sx.stx_atime.tv_sec, sx.stx_atime.tv_nsec};
  st->st_mtim = {sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec};
  st->st_ctim = {sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec};
  *birthNs = static_cast<uint64_t>(sx.stx_btime.tv_sec) * 1000000000ull + static_cast<uint64_t>(sx.stx_btime.tv_nsec);
  return true;
}

}  // namespace
#endif

FileIdentity FileIdentity::OfDescriptor(int fd, struct stat* st) {
#if defined(__linux__) && defined(STATX_BTIME)
  uint64_t birth = 0;
  if (StatWithBirth(fd, "", AT_EMPTY_PATH, st, &birth)) return IdentityFrom(*st, birth);
#endif
  if (fstat(fd, st) != 0) return FileIdentity();
#if defined(__linux__)
  return IdentityFrom(*st, BirthNs(fd, "", AT_EMPTY_PATH, *st));
#else
  return IdentityFrom(*st, BirthNs(fd, nullptr, 0, *st));
#endif
}

FileIdentity FileIdentity::OfEntry(int dirfd, const std::string& name, struct stat* st) {
  if (name.empty()) return FileIdentity();
#if defined(__linux__) && defined(STATX_BTIME)
  uint64_t birth = 0;
  if (StatWithBirth(dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW, st, &birth)) return IdentityFrom(*st, birth);
  if (errno == ENOENT || errno == ENOTDIR) return FileIdentity();
#endif
  if (fstatat(dirfd, name.c_str(), st, AT_SYMLINK_NOFOLLOW) != 0) return FileIdentity();
  return IdentityFrom(*st, BirthNs(dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW, *st));
}

bool IsOwnPartialFile(const struct stat& st) {
  return S_ISREG(st.st_mode) && st.st_uid == geteuid() && st.st_nlink == 1;
}

mode_t FinishedFileMode() {
  static std::once_flag once;
  static mode_t mode = 0644;
  std::call_once(once, [] { mode = static_cast<mode_t>(0666 & ~ReadUmask()); });
  return mode;
}

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

// One rule with PartialFileName below: ".<name>.<pid>.<16 hex>.partial", the pid the creator's.
const char kPartialFileNamePattern[] = "^\\.[\\s\\S]+\\.([1-9][0-9]{0,9})\\.[0-9a-f]{16}\\.partial$";

namespace {

// ".<stem>.<pid>.<16 hex>.partial" must fit one path component (NAME_MAX, 255 bytes on every
// file system we run on) even when `name` itself is a legal 240-byte name: shorten the hidden
// name, never the file's.
std::string PartialFileName(const std::string& name) {
  constexpr size_t kNameMax = 255;
  constexpr size_t kDecoration = 1 + 1 + 10 + 1 + 16 + 8;  // ".", ".", pid, ".", hex, ".partial"
  std::string stem = name.substr(0, Utf8PrefixLength(name, kNameMax - kDecoration));
  return "." + stem + "." + std::to_string(static_cast<long long>(getpid())) + "." + RandomHex16() + ".partial";
}

}  // namespace

bool HeldFolder::StillAtPath() const {
  struct stat st;
  return fd >= 0 && stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_dev) == device &&
         static_cast<uint64_t>(st.st_ino) == inode;
}

void HeldFolder::Close() {
  owner.reset();
  fd = -1;
}

namespace {

// The folders downloads hold right now, for OpenFolder to share: path and identity, and the
// descriptor while any holder keeps it (weak: the last holder's Close closes it). Any engine
// thread, under the mutex.
struct SharedFolder {
  std::string path;
  uint64_t device;
  uint64_t inode;
  std::weak_ptr<const int> owner;
};
std::mutex shared_folders_mutex;
// Never freed: engine threads may still open folders while static destructors run at exit.
std::vector<SharedFolder>* shared_folders = new std::vector<SharedFolder>();

bool ShareHeldFolder(const std::string& dir, const struct stat& st, HeldFolder* folder) {
  std::lock_guard<std::mutex> lock(shared_folders_mutex);
  for (const SharedFolder& held : *shared_folders) {
    if (held.path != dir || held.device != static_cast<uint64_t>(st.st_dev) ||
        held.inode != static_cast<uint64_t>(st.st_ino))
      continue;
    std::shared_ptr<const int> owner = held.owner.lock();
    if (!owner) return false;
    folder->owner = std::move(owner);
    folder->fd = *folder->owner;
    folder->path = dir;
    folder->device = held.device;
    folder->inode = held.inode;
    return true;
  }
  return false;
}

void RememberHeldFolder(const HeldFolder& folder) {
  std::lock_guard<std::mutex> lock(shared_folders_mutex);
  // Entries whose last holder let go are dropped here, so the list holds the folders in use.
  auto& list = *shared_folders;
  for (size_t i = 0; i < list.size();) {
    if (list[i].owner.expired() || list[i].path == folder.path) {
      list[i] = std::move(list.back());
      list.pop_back();
    } else {
      ++i;
    }
  }
  list.push_back(SharedFolder{folder.path, folder.device, folder.inode, folder.owner});
}

}  // namespace

int OpenFolder(const std::string& dir, HeldFolder* folder, bool create) {
  if (dir.empty()) return ENOENT;
  // One stat(2) says where the path leads now: to a folder another download holds (share its
  // descriptor), or elsewhere (open it, creating it first when asked).
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return ENOTDIR;
    if (ShareHeldFolder(dir, st, folder)) return 0;
  } else if (create) {
    int err = EnsureDirectory(dir);
    if (err != 0) return err;
  }
  // A descriptor for *at() calls only: no read permission needed, as creating a file by path
  // needs none (a drop-box folder of mode 0733 works as before).
#if defined(O_PATH)
  int fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
#elif defined(O_SEARCH)
  int fd = open(dir.c_str(), O_SEARCH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && (errno == EINVAL || errno == ENOTSUP)) fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
#else
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
#endif
  if (fd < 0) return errno;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return err;
  }
  folder->owner = std::shared_ptr<const int>(new int(fd), [](const int* owned) {
    close(*owned);
    delete owned;
  });
  folder->fd = fd;
  folder->path = dir;
  folder->device = static_cast<uint64_t>(st.st_dev);
  folder->inode = static_cast<uint64_t>(st.st_ino);
  RememberHeldFolder(*folder);
  return 0;
}

std::string LeafName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string FolderName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

int CreatePartialFile(const std::string& dir, const std::string& name, std::string* partialPath,
                      FileIdentity* identity) {
  HeldFolder folder;
  int err = OpenFolder(dir, &folder);
  if (err != 0) return -err;
  int fd = CreatePartialFileAt(folder, name, partialPath, identity);
  folder.Close();
  return fd;
}

int CreatePartialFileAt(const HeldFolder& folder, const std::string& name, std::string* partialPath,
                        FileIdentity* identity) {
  // O_EXCL|O_NOFOLLOW: whatever is already at a name (a planted link, a FIFO, somebody's file)
  // is never opened, followed or truncated; a clash just draws another random name.
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string leaf = PartialFileName(name);
    int fd = openat(folder.fd, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      struct stat st;
      FileIdentity made = FileIdentity::OfDescriptor(fd, &st);
      if (!made.Known()) {
        close(fd);
        unlinkat(folder.fd, leaf.c_str(), 0);
        return -EIO;
      }
      *partialPath = Join(folder.path, leaf);
      *identity = made;
      return fd;
    }
    if (errno != EEXIST) return -errno;
  }
  return -EEXIST;
}

// The source lives on another file system (an OS temp folder): copy it next to the
// destination first, so the final step is still a same-folder link or rename.
static int CommitByCopy(const std::string& sourcePath, const FileIdentity& sourceIdentity, const std::string& dir,
                        const std::string& name, std::string* finalPath, bool overwrite) {
  int in = open(sourcePath.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (in < 0) return errno;
  struct stat source;
  if (FileIdentity::OfDescriptor(in, &source) != sourceIdentity || !S_ISREG(source.st_mode)) {
    close(in);
    return EPERM;
  }
  std::string local;
  FileIdentity localIdentity;
  int out = CreatePartialFile(dir, name, &local, &localIdentity);
  if (out < 0) {
    close(in);
    return -out;
  }
  // The copy keeps the mode the caller gave the source (a finished download's umask mode).
  int err = fchmod(out, source.st_mode & 0777) == 0 ? 0 : errno;
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
  close(in);
  if (err == 0 && fsync(out) != 0) err = errno;
  if (close(out) != 0 && err == 0) err = errno;
  if (err == 0) err = CommitPartialFile(local, localIdentity, dir, name, finalPath, overwrite);
  if (err != 0) {
    DiscardPartialFile(local, localIdentity);
    return err;
  }
  DiscardPartialFile(sourcePath, sourceIdentity);
  return 0;
}

// The next number worth trying for `name` in `dir`: one past the last this process gave out.
// Shared by every engine thread of the process, so under a mutex; forgotten wholesale when it
// holds many folders and names (the cost is then one walk over the taken numbers again).
namespace {

std::mutex numbering_mutex;
// Never freed: engine threads may still commit files while static destructors run at exit.
std::unordered_map<std::string, int>* next_numbers = new std::unordered_map<std::string, int>();
constexpr size_t kRememberedNames = 4096;

int NextNumberToTry(const std::string& dir, const std::string& name) {
  std::lock_guard<std::mutex> lock(numbering_mutex);
  auto found = next_numbers->find(dir + '\n' + name);
  return found == next_numbers->end() ? 1 : found->second;
}

void RememberNumberTaken(const std::string& dir, const std::string& name, int n) {
  std::lock_guard<std::mutex> lock(numbering_mutex);
  if (next_numbers->size() >= kRememberedNames) next_numbers->clear();
  int& next = (*next_numbers)[dir + '\n' + name];
  if (n + 1 > next) next = n + 1;
}

}  // namespace

// A name we just made (`candidate` in the folder `dirfd`) to point at the partial file must
// point at that file, not at whatever an attacker renamed into the partial path meanwhile: if
// not, take the name back.
static int VerifyCommitted(int dirfd, const std::string& dir, const std::string& candidate,
                           const FileIdentity& identity, std::string* finalPath) {
  if (!SameEntryIdentity(dirfd, candidate, identity)) {
    unlinkat(dirfd, candidate.c_str(), 0);
    return EPERM;
  }
  *finalPath = Join(dir, candidate);
  return 0;
}

// Moves the partial file `source` (relative to `sourceDirfd`; AT_FDCWD: a path) into the folder
// `folder` under `name` or a numbered variant. `folder.path` names the result. With
// `checkFolder`, the folder must still be at its path (see CommitPartialFileAt).
static int CommitInto(int sourceDirfd, const std::string& source, const FileIdentity& identity,
                      const HeldFolder& folder, const std::string& name, std::string* finalPath, bool overwrite,
                      bool checkFolder) {
  if (!SameEntryIdentity(sourceDirfd, source, identity)) return EPERM;
  const std::string& dir = folder.path;
  if (overwrite) {
    // rename() replaces what is at the name and cannot be undone: look before, not after.
    if (checkFolder && !folder.StillAtPath()) return ESTALE;
    if (renameat(sourceDirfd, source.c_str(), folder.fd, name.c_str()) != 0) {
      return errno == EXDEV && sourceDirfd == AT_FDCWD ? CommitByCopy(source, identity, dir, name, finalPath, overwrite)
                                                       : errno;
    }
    return VerifyCommitted(folder.fd, dir, name, identity, finalPath);
  }
  // The name itself first (it may be free again), then from the number after the last one this
  // process gave for this folder and name: one or two probes per file instead of one per taken
  // name, and no limit on how many.
  for (int n = 0; n < INT_MAX; n = n == 0 ? NextNumberToTry(dir, name) : n + 1) {
    std::string candidate = n == 0 ? name : NumberedName(name, n);
    // link() fails with EEXIST instead of replacing, which rename() would do silently; it never
    // follows a link at either path.
    if (linkat(sourceDirfd, source.c_str(), folder.fd, candidate.c_str(), 0) == 0) {
      int verified = VerifyCommitted(folder.fd, dir, candidate, identity, finalPath);
      if (verified != 0) return verified;
      // After the link, not before: a new name replaced nothing, so it can be taken back, and
      // the one stat covers a rename racing the link too.
      if (checkFolder && !folder.StillAtPath()) {
        unlinkat(folder.fd, candidate.c_str(), 0);
        return ESTALE;
      }
      if (n > 0) RememberNumberTaken(dir, name, n);
      DiscardEntry(sourceDirfd, source, identity);
      return 0;
    }
    if (errno == EEXIST) continue;
    if (errno == EXDEV && sourceDirfd == AT_FDCWD)
      return CommitByCopy(source, identity, dir, name, finalPath, overwrite);
    // File systems without hard links: rename when the name is free (small race accepted).
    struct stat st;
    if (fstatat(folder.fd, candidate.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
    if (checkFolder && !folder.StillAtPath()) return ESTALE;
    if (renameat(sourceDirfd, source.c_str(), folder.fd, candidate.c_str()) == 0) {
      if (n > 0) RememberNumberTaken(dir, name, n);
      return VerifyCommitted(folder.fd, dir, candidate, identity, finalPath);
    }
    return errno;
  }
  return EEXIST;
}

int CommitPartialFile(const std::string& partialPath, const FileIdentity& identity, const std::string& dir,
                      const std::string& name, std::string* finalPath, bool overwrite) {
  HeldFolder folder;
  int err = OpenFolder(dir, &folder);
  if (err != 0) return err;
  err = CommitInto(AT_FDCWD, partialPath, identity, folder, name, finalPath, overwrite, /*checkFolder=*/false);
  folder.Close();
  return err;
}

int CommitPartialFileAt(const HeldFolder& folder, const std::string& leaf, const FileIdentity& identity,
                        const std::string& name, std::string* finalPath, bool overwrite) {
  return CommitInto(folder.fd, leaf, identity, folder, name, finalPath, overwrite, /*checkFolder=*/true);
}

int ReopenPartialFile(const std::string& partialPath, int64_t offset, const FileIdentity& expected) {
  return ReopenEntry(AT_FDCWD, partialPath, offset, expected);
}

int ReopenPartialFileAt(const HeldFolder& folder, const std::string& leaf, int64_t offset,
                        const FileIdentity& expected) {
  return ReopenEntry(folder.fd, leaf, offset, expected);
}

void DiscardPartialFile(const std::string& partialPath, const FileIdentity& identity) {
  DiscardEntry(AT_FDCWD, partialPath, identity);
}

void DiscardPartialFileAt(const HeldFolder& folder, const std::string& leaf, const FileIdentity& identity) {
  DiscardEntry(folder.fd, leaf, identity);
}

std::string SanitizeFileName(const std::string& name) {
  // A name with a path keeps its last segment (RFC 6266 §4.3): "../../x.sh" is "x.sh".
  size_t separator = name.find_last_of("/\\");
  std::string last = separator == std::string::npos ? name : name.substr(separator + 1);
  std::string out;
  out.reserve(last.size());
  for (size_t i = 0; i < last.size();) {
    unsigned char c = static_cast<unsigned char>(last[i]);
    size_t length = Utf8SequenceLength(last, i);
    if (length == 0) {
      // Not UTF-8 (or cut mid-character): the name reaches JavaScript as UTF-8 text, where a
      // stray byte would become U+FFFD and the reported location would not exist.
      out.push_back('_');
      ++i;
    } else if (length == 1 && (c < 0x20 || c == 0x7f || c == ':')) {
      out.push_back('_');
      ++i;
    } else {
      out.append(last, i, length);
      i += length;
    }
  }
  // Leading dots would hide the file (and ".." would climb); trailing dots and spaces are
  // invalid on some file systems.
  size_t start = out.find_first_not_of(". ");
  out = start == std::string::npos ? std::string() : out.substr(start);
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  if (out.size() > 200) out.resize(Utf8PrefixLength(out, 200));
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
