// Portable file placement for downloads, shared by both engines.
// A download is written to a partial file next to its destination and moved into place
// only when complete, so the destination never holds a half-written file.
// The download folder may be writable by someone else (a shared folder, a hostile local user):
// every file we create is O_CREAT|O_EXCL|O_NOFOLLOW under an unpredictable name, every reopen
// is O_NOFOLLOW|O_NONBLOCK and checked with fstat against the identity (device + inode) we
// recorded, and nothing is unlinked or moved unless lstat shows it is still that file.
// A download holds its folder open (OpenFolder) while its partial file lives there and makes
// every later step relative to that descriptor (the *At functions), so that a folder renamed
// away meanwhile still gets its partial file removed instead of keeping it forever.
// Downloads that overlap in time share one descriptor per folder (OpenFolder), rechecked against
// the folder's path for every new download.
// All functions are thread-safe (no shared state but a once-computed umask, the commit numbering
// and the shared folder descriptors, each under its mutex) and run on engine threads, except
// FinishedFileMode's first call (see there).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
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
  // Of an open file (fstat). Unknown on failure; *st receives the stat when it succeeded.
  static FileIdentity OfDescriptor(int fd, struct stat* st);
  // `name` relative to the folder `dirfd` (AT_FDCWD: a path), not following a link there
  // (lstat). Unknown on failure; *st receives the stat when it succeeded.
  static FileIdentity OfEntry(int dirfd, const std::string& name, struct stat* st);
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

// The hidden name of a partial file: ".<name>.<pid>.<16 random hex digits>.partial". The pid is
// the creating process's, so that a later process can tell a stale partial file (its creator is
// dead) from one that may still be written or resumed (lib/partial-sweep.ts); the random part
// keeps the name unpredictable. This is the same rule as an ECMAScript regular expression
// (group 1: the pid), exported to lib/ by the addon as `partialFileNamePattern`.
extern const char kPartialFileNamePattern[];

// A folder held open while a partial file lives in it, with the identity it had when opened.
// Copies share the descriptor, which closes when the last holder let go (Close or destruction):
// nothing keeps a folder (and its file system, e.g. against unmounting) open once no download
// uses it.
struct HeldFolder {
  int fd = -1;
  std::string path;  // as the caller named it: where the finished file is to appear
  uint64_t device = 0;
  uint64_t inode = 0;
  bool Open() const { return fd >= 0; }
  // Whether `path` still leads to this folder (following a link there, as OpenFolder did):
  // false once the folder was renamed away, removed or replaced. One stat(2).
  bool StillAtPath() const;
  void Close();
  // Closes `fd` when the last copy goes.
  std::shared_ptr<const int> owner;
};

// Opens the folder `dir` to hold (creating it and missing parents first when `create`). A link
// at `dir` itself is followed: the caller chose that path; nothing inside the folder ever is.
// Needs no read permission on the folder (Linux: O_PATH; macOS: O_SEARCH). While another
// download holds the same folder, its descriptor is shared instead of opening another, but only
// when stat(2) of `dir` now finds that very folder (device and inode; a held descriptor keeps
// its inode number from being given out again): a folder renamed away, or replaced by another
// folder or a link, is opened anew at the path. Returns 0 or an errno value.
int OpenFolder(const std::string& dir, HeldFolder* folder, bool create = true);

// The last component of `path` ("a/b/.x.partial" -> ".x.partial") and the folder before it
// ("a/b"; "/" for "/x"; "." for a bare name).
std::string LeafName(const std::string& path);
std::string FolderName(const std::string& path);

// Opens a new, exclusive partial file (mode 0600, named as kPartialFileNamePattern says) inside
// `dir`, creating `dir` when missing. Returns an fd (>= 0) and stores its path and identity, or
// returns -errno.
int CreatePartialFile(const std::string& dir, const std::string& name, std::string* partialPath,
                      FileIdentity* identity);
// The same inside the held folder (its path only names the result).
int CreatePartialFileAt(const HeldFolder& folder, const std::string& name, std::string* partialPath,
                        FileIdentity* identity);

// Moves the complete partial file `identity` (at `partialPath`) to `dir`/`name`. Without
// `overwrite` an existing file is never replaced: when the name is taken, "name-1", "name-2",
// ... (before the extension) are tried. Whatever lies at the final name afterwards must be that
// same file; if someone swapped the partial path for another file or a link meanwhile, the new
// name is removed again and EPERM returned. Returns 0 and stores the final absolute path, or an
// errno value (the partial file is kept).
int CommitPartialFile(const std::string& partialPath, const FileIdentity& identity, const std::string& dir,
                      const std::string& name, std::string* finalPath, bool overwrite = false);
// The same for the partial file `leaf` inside the held folder, which is also the destination:
// the file is linked (or renamed) to a name inside that folder by descriptor. If the folder is
// no longer at its path (renamed away, removed, replaced), nothing is left at a new name, the
// partial file is kept (for the caller to discard through the folder) and ESTALE is returned:
// a finished file is never placed where the caller's path does not lead.
int CommitPartialFileAt(const HeldFolder& folder, const std::string& leaf, const FileIdentity& identity,
                        const std::string& name, std::string* finalPath, bool overwrite = false);

// Reopens the partial file `expected` for appending after exactly `offset` bytes (longer files
// are cut back to it). Returns an fd or -errno: -EPERM when the path is not that file of ours
// (a link, a FIFO, another file, someone else's), -ERANGE when it is ours but shorter.
int ReopenPartialFile(const std::string& partialPath, int64_t offset, const FileIdentity& expected);
int ReopenPartialFileAt(const HeldFolder& folder, const std::string& leaf, int64_t offset,
                        const FileIdentity& expected);

// Removes the partial file `identity` at `partialPath`; a missing file, or anything else now
// lying at that path, is left alone. Never throws.
void DiscardPartialFile(const std::string& partialPath, const FileIdentity& identity);
// The same for `leaf` inside the held folder, wherever that folder is now.
void DiscardPartialFileAt(const HeldFolder& folder, const std::string& leaf, const FileIdentity& identity);

// Makes `name` safe as a single path component: no separators, no NUL or control characters,
// not "." or "..", not empty (falls back to "download"), at most 200 bytes.
std::string SanitizeFileName(const std::string& name);

// The last path segment of a URL's path, percent-decoded, or "" when there is none.
std::string FileNameFromUrl(const std::string& url);

// The name a download gets when the caller named none: SanitizeFileName(FileNameFromUrl(url)).
std::string DefaultDownloadName(const std::string& url);

}  // namespace urlsession
