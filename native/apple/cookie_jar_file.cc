// cookies.txt parsing and writing (see cookie_jar_file.h).
#include "apple/cookie_jar_file.h"

#include "core/file_ops.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace urlsession {
namespace {

std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

bool Flag(const std::string& text, bool* out) {
  if (text == "TRUE") return *out = true, true;
  if (text == "FALSE") return *out = false, true;
  return false;
}

bool Clean(const std::string& text) { return text.find_first_of("\t\r\n") == std::string::npos; }

}  // namespace

std::string CookieJarFile(const SessionConfig& config) {
  if (config.stateDirectory.empty() || config.cookieAcceptPolicy == CookieAcceptPolicy::Never) return std::string();
  return config.stateDirectory + "/cookies.txt";
}

std::vector<JarCookie> ParseCookieJar(const std::string& text, int64_t now) {
  static const std::string kHttpOnly = "#HttpOnly_";
  std::vector<JarCookie> cookies;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? text.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    JarCookie cookie;
    if (line.compare(0, kHttpOnly.size(), kHttpOnly) == 0) {
      cookie.httpOnly = true;
      line.erase(0, kHttpOnly.size());
    } else if (line.empty() || line[0] == '#') {
      continue;
    }
    std::vector<std::string> f = SplitTabs(line);
    if (f.size() != 7 || f[0].empty() || f[5].empty()) continue;
    char* stop = nullptr;
    cookie.expires = std::strtoll(f[4].c_str(), &stop, 10);
    if (stop == nullptr || *stop != '\0' || cookie.expires < 0) continue;
    if (!Flag(f[1], &cookie.includeSubdomains) || !Flag(f[3], &cookie.secure)) continue;
    if (cookie.expires != 0 && cookie.expires < now) continue;
    cookie.domain = f[0][0] == '.' ? f[0].substr(1) : f[0];
    cookie.path = f[2].empty() ? "/" : f[2];
    cookie.name = f[5];
    cookie.value = f[6];
    cookies.push_back(std::move(cookie));
  }
  return cookies;
}

std::string WriteCookieJar(const std::vector<JarCookie>& cookies) {
  std::string out =
      "# Netscape HTTP Cookie File\n# https://curl.se/docs/http-cookies.html\n# Written by urlsession (Apple "
      "engine).\n\n";
  for (const JarCookie& c : cookies) {
    if (!Clean(c.domain) || !Clean(c.path) || !Clean(c.name) || !Clean(c.value) || c.domain.empty() || c.name.empty())
      continue;
    out += (c.httpOnly ? "#HttpOnly_" : "") + std::string(c.includeSubdomains ? "." : "") + c.domain + "\t" +
           (c.includeSubdomains ? "TRUE" : "FALSE") + "\t" + c.path + "\t" + (c.secure ? "TRUE" : "FALSE") + "\t" +
           std::to_string(c.expires) + "\t" + c.name + "\t" + c.value + "\n";
  }
  return out;
}

int ReplaceFile(const std::string& path, const std::string& contents) {
  // The new contents go to a fresh private file next to `path` (core/file_ops.h: O_EXCL |
  // O_NOFOLLOW under a random hidden name, so nothing planted there is opened or truncated),
  // then replace it in one rename.
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string temporary;
  FileIdentity identity;
  int fd = CreatePartialFile(dir, slash == std::string::npos ? path : path.substr(slash + 1), &temporary, &identity);
  if (fd < 0) return -fd;
  for (size_t done = 0; done < contents.size();) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int error = n < 0 ? errno : EIO;
      close(fd);
      DiscardPartialFile(temporary, identity);
      return error;
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0 || rename(temporary.c_str(), path.c_str()) != 0) {
    int error = errno;
    DiscardPartialFile(temporary, identity);
    return error;
  }
  return 0;
}

}  // namespace urlsession
