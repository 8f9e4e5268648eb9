// Portable file placement for downloads, shared by both engines.
// A download is written to a partial file next to its destination and moved into place
// only when complete, so the destination never holds a half-written file.
// All functions are thread-safe (no shared state) and run on engine threads.
#pragma once

#include <cstdint>
#include <string>

namespace urlsession {

// Creates `dir` and its missing parents (new folders get `mode`). Returns 0 or an errno value.
int EnsureDirectory(const std::string& dir, unsigned mode = 0755);

// Opens a new, exclusive partial file for `name` inside `dir` (mode 0600), creating `dir`
// when missing. Returns an fd (>= 0) and stores its path in *partialPath, or returns -errno.
int CreatePartialFile(const std::string& dir, const std::string& name, std::string* partialPath);

// Moves a complete partial file to `dir`/`name`. Without `overwrite` an existing file is never
// replaced: when the name is taken, "name-1", "name-2", ... (before the extension) are tried.
// Returns 0 and stores the final absolute path, or an errno value (the partial file is kept).
int CommitPartialFile(const std::string& partialPath, const std::string& dir, const std::string& name,
                      std::string* finalPath, bool overwrite = false);

// Reopens an existing partial file for appending after exactly `offset` bytes (longer files
// are cut back to it). Returns an fd or -errno (-ERANGE when the file is shorter than offset).
int ReopenPartialFile(const std::string& partialPath, int64_t offset);

// Removes a partial file; missing files are fine. Never throws.
void DiscardPartialFile(const std::string& partialPath);

// Makes `name` safe as a single path component: no separators, no NUL or control characters,
// not "." or "..", not empty (falls back to "download"), at most 200 bytes.
std::string SanitizeFileName(const std::string& name);

// The last path segment of a URL's path, percent-decoded, or "" when there is none.
std::string FileNameFromUrl(const std::string& url);

// The name a download gets when the caller named none: SanitizeFileName(FileNameFromUrl(url)).
std::string DefaultDownloadName(const std::string& url);

}  // namespace urlsession
