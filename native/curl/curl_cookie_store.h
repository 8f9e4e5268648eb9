// The session's cookies in libcurl's shared cookie store: read from the jar file at start, kept
// within CookieLimits after responses that set cookies, and written back to the jar as a file
// only its owner can read (0600: it holds session tokens). Used on the engine thread; Load()
// runs on the thread that creates the engine, before the engine thread starts.
#pragma once

#include <curl/curl.h>

#include <string>
#include <vector>

#include "core/cookie_limits.h"

namespace urlsession {

class CurlCookieStore {
 public:
  // `control`: an easy handle on the session's share, only used to reach the cookie store; it
  // outlives this object. `jarPath`: the jar file, or "" for cookies kept in memory only.
  CurlCookieStore(CURL* control, std::string jarPath);

  // Fills the empty store from the jar: its newest cookies, within the limits, oldest first.
  void Load();
  // After Set-Cookie headers arrived: evicts the oldest cookies beyond the limits.
  void Enforce();
  // Writes the jar, first making it a private file. Returns false, and writes nothing, when the
  // path holds something that must not be written (a directory, a FIFO, another user's file).
  bool Save();
  // Empties the store and removes the jar.
  void Clear();

  size_t size() const { return limits_.size(); }
  size_t rebuilds() const { return rebuilds_; }  // how often Enforce had to empty the store

 private:
  void Add(const std::vector<std::string>& lines);
  void Rebuild(const std::vector<std::string>& lines, int64_t now);
  void Learn(int64_t now);

  CURL* control_;
  std::string jar_;
  CookieLimits limits_;
  size_t rebuilds_ = 0;
};

// Makes `path` a regular file of this user with mode 0600, creating it empty when missing, and
// never follows a symlink there (one is removed; its target is not touched). Returns 0 or an
// errno value (EINVAL: not a regular file; EPERM: another user's file).
int MakePrivateFile(const std::string& path);

}  // namespace urlsession
