// Portable file placement for downloads, shared by both engines.
// A download is written to a partial file next to its destination and moved into place
// only when complete, so the destination never holds a half-written file.
// The download folder may be writable by someone else (a shared folder, a hostile local user):
// every file we create is O_CREAT|O_EXCL|O_NOFOLLOW under an unpredictable name, every reopen
// is O_NOFOLLOW|O_NONBLOCK and checked with fstat against the identity (device + inode) we
// recorded, and nothing is unlinked or moved unless lstat shows it is still that file.
// All functions are thread-safe (no shared state but a once-computed umask) and run on engine
// threads, except FinishedFileMode's first call (see there).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

namespace urlsession {

// Which file a partial file is: kept in resume data and the journal as
// "device:inode:birth-time-in-ns". The birth time tells a new file apart from an old one whose
// freed inode number the file system gave out again (0 where the file system keeps none).
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t birthNs = 0;
  bool Known() const { return inode != 0; }
  bool operator==(const FileIdentity& other) const {
    return device == other.device && inode == other.inode && birthNs == other.birthNs;
  }
  bool operator!=(const FileIdentity& other) const { return !(*this == other); }
  std::string ToString() const;
  // "" or anything malformed gives an unknown identity (which matches no file).
  static FileIdentity Parse(const std::string& text);
  // Of an open file (fstat), or of a path without following a link there (lstat). Unknown on
  // failure; *st receives the stat either way it succeeded.
  static FileIdentity OfDescriptor(int fd, struct stat* st);
  static FileIdentity OfPath(const std::string& path, struct stat* st);
};

// A partial file of ours: a regular file owned by this process's effective user with one link
// (a hard link planted by someone else to their own or a victim's file has two or more).
bool IsOwnPartialFile(const struct stat& st);

// The mode a finished download gets: 0666 & ~umask, as curl and every other tool create files.
// The umask is read once per process (Linux: /proc/self/status, without touching it; elsewhere:
// umask(2) set and restored, so call it first on the JS thread before engine threads start
// creating files: engines do so when they are constructed).
mode_t FinishedFileMode();

// Creates `dir` and its missing parents (new folders get `mode`). Returns 0 or an errno value.
int EnsureDirectory(const std::string& dir, unsigned mode = 0755);

// Opens a new, exclusive partial file ".<name>.<16 random hex digits>.partial" inside `dir`
// (mode 0600), creating `dir` when missing. Returns an fd (>= 0) and stores its path and
// identity, or returns -errno.
int CreatePartialFile(const std::string& dir, const std::string& name, std::string* partialPath,
                      FileIdentity* identity);

// Moves the complete partial file `identity` (at `partialPath`) to `dir`/`name`. Without
// `overwrite` an existing file is never replaced: when the name is taken, "name-1", "name-2",
// ... (before the extension) are tried. Whatever lies at the final name afterwards must be that
// same file; if someone swapped the partial path for another file or a link meanwhile, the new
// name is removed again and EPERM returned. Returns 0 and stores the final absolute path, or an
// errno value (the partial file is kept).
int CommitPartialFile(const std::string& partialPath, const FileIdentity& identity, const std::string& dir,
                      const std::string& name, std::string* finalPath, bool overwrite = false);

// Reopens the partial file `expected` for appending after exactly `offset` bytes (longer files
// are cut back to it). Returns an fd or -errno: -EPERM when the path is not that file of ours
// (a link, a FIFO, another file, someone else's), -ERANGE when it is ours but shorter.
int ReopenPartialFile(const std::string& partialPath, int64_t offset, const FileIdentity& expected);

// Removes the partial file `identity` at `partialPath`; a missing file, or anything else now
// lying at that path, is left alone. Never throws.
void DiscardPartialFile(const std::string& partialPath, const FileIdentity& identity);

// Makes `name` safe as a single path component: no separators, no NUL or control characters,
// not "." or "..", not empty (falls back to "download"), at most 200 bytes.
std::string SanitizeFileName(const std::string& name);

// The last path segment of a URL's path, percent-decoded, or "" when there is none.
std::string FileNameFromUrl(const std::string& url);

// The name a download gets when the caller named none: SanitizeFileName(FileNameFromUrl(url)).
std::string DefaultDownloadName(const std::string& url);

}  // namespace urlsession
