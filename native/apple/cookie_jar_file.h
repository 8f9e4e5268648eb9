// A session's cookie jar on disk in the format libcurl reads and writes (Netscape cookies.txt,
// "#HttpOnly_" prefix for HttpOnly cookies), so that the Apple engine keeps its own store in
// stateDirectory exactly where and how the curl engine keeps its jar. Parsing and writing only,
// plain C++17; the .mm converts to and from NSHTTPCookie. Any thread; no state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace urlsession {

struct JarCookie {
  std::string domain;  // without the leading dot
  bool includeSubdomains = false;
  std::string path = "/";
  bool secure = false;
  bool httpOnly = false;
  int64_t expires = 0;  // Unix seconds; 0: a session cookie (curl writes those too)
  std::string name, value;
};

// stateDirectory/cookies.txt (the curl engine's CookieJarPath names the same file); "" when the
// session keeps no state or takes no cookies.
std::string CookieJarFile(const SessionConfig& config);
// Lines that are not cookies (comments, blanks, malformed) are skipped; expired ones (before
// `now`) too.
std::vector<JarCookie> ParseCookieJar(const std::string& text, int64_t now);
std::string WriteCookieJar(const std::vector<JarCookie>& cookies);
// Replaces `path` with `contents` atomically, mode 0600. Returns 0 or an errno value.
int ReplaceFile(const std::string& path, const std::string& contents);

}  // namespace urlsession
