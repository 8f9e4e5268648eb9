#include "curl/curl_cookie_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <string_view>

namespace urlsession {
namespace {

// Every cookie the store lists (CURLINFO_COOKIELIST), valid while this object lives.
class Listing {
 public:
  explicit Listing(CURL* control) {
    curl_easy_getinfo(control, CURLINFO_COOKIELIST, &list_);
    for (curl_slist* item = list_; item != nullptr; item = item->next) lines_.emplace_back(item->data);
  }
  ~Listing() { curl_slist_free_all(list_); }
  Listing(const Listing&) = delete;
  Listing& operator=(const Listing&) = delete;
  const std::vector<std::string_view>& lines() const { return lines_; }

 private:
  curl_slist* list_ = nullptr;
  std::vector<std::string_view> lines_;
};

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

// libcurl 7.88 saves a jar (Curl_fopen) by writing "<jar>.<random>.tmp", created 0600, and renaming
// it over the jar; it first gives the new file the old jar's mode when both have our owner and
// group. A missing jar it creates with fopen(): 0666 & ~umask, readable by every local user. So
// the jar must exist, be ours and be 0600 before every save, and then every save keeps it 0600.
int MakePrivateFile(const std::string& path) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
    if (fd < 0) {
      int err = errno;
      struct stat link;
      // A symlink: libcurl would write beside it and rename over it anyway; remove it first, so
      // the new jar is created private instead of copying the target's mode.
      if (err == ELOOP && attempt == 0 && lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode) &&
          unlink(path.c_str()) == 0) {
        continue;
      }
      return err;
    }
    struct stat st;
    int err = 0;
    if (fstat(fd, &st) != 0)
      err = errno;
    else if (!S_ISREG(st.st_mode))
      err = EINVAL;
    else if (st.st_uid != geteuid())
      err = EPERM;
    else if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) != 0)
      err = errno;
    close(fd);
    return err;
  }
  return ELOOP;
}

CurlCookieStore::CurlCookieStore(CURL* control, std::string jarPath) : control_(control), jar_(std::move(jarPath)) {}

void CurlCookieStore::Add(const std::vector<std::string>& lines) {
  for (const auto& line : lines) curl_easy_setopt(control_, CURLOPT_COOKIELIST, line.c_str());
}

// What the store took: CookieLimits learns the ages of cookies it gave and forgets refused ones.
void CurlCookieStore::Learn(int64_t now) {
  Listing store(control_);
  limits_.Update(store.lines(), now);
}

// Instead of libcurl's own loading (CURLOPT_COOKIEFILE), which would take the whole file and give
// its first line, the newest cookie, the oldest creation time: given oldest first, the store's
// creation order is the cookies' age, and so is the order libcurl writes the jar in.
void CurlCookieStore::Load() {
  if (jar_.empty()) return;
  // O_NOFOLLOW: a link planted at the jar's path is not read (Save replaces it with our file).
  int fd = open(jar_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return;  // no jar yet
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return;
  }
  int64_t now = Now();
  std::vector<std::string> lines = limits_.TrimJar(
      [fd](char* buffer, size_t size) -> size_t {
        ssize_t got;
        do { got = read(fd, buffer, size); } while (got < 0 && errno == EINTR);
        return got > 0 ? static_cast<size_t>(got) : 0;
      },
      now);
  close(fd);
  Add(lines);
  Enforce();  // learns what the store took (and would evict what it holds beyond the limits)
}

// Costs one listing of the store (two when it evicts), and only after responses that set cookies.
void CurlCookieStore::Enforce() {
  int64_t now = Now();
  CookieLimits::Decision decision;
  {
    Listing store(control_);
    decision = limits_.Update(store.lines(), now);
  }
  if (decision.action == CookieLimits::Action::kExpire) {
    Add(decision.lines);
    // Confirms the evictions (the expired copies are gone from the listing); a cookie they did
    // not reach makes it a rebuild.
    Listing store(control_);
    decision = limits_.Update(store.lines(), now);
  }
  if (decision.action == CookieLimits::Action::kRebuild) Rebuild(decision.lines, now);
}

// Only for cookies libcurl holds differently from how it lists them (none that a server can set
// through libcurl 7.88's parser is known): empty the store and give it back what fits.
void CurlCookieStore::Rebuild(const std::vector<std::string>& lines, int64_t now) {
  ++rebuilds_;
  curl_easy_setopt(control_, CURLOPT_COOKIELIST, "ALL");
  Add(lines);
  Learn(now);
}

bool CurlCookieStore::Save() {
  if (jar_.empty()) return true;
  if (MakePrivateFile(jar_) != 0) return false;
  // The jar name is set only around the flush: libcurl would otherwise write it again, outside
  // these checks, when the control handle is cleaned up.
  curl_easy_setopt(control_, CURLOPT_COOKIEJAR, jar_.c_str());
  curl_easy_setopt(control_, CURLOPT_COOKIELIST, "FLUSH");
  curl_easy_setopt(control_, CURLOPT_COOKIEJAR, static_cast<char*>(nullptr));
  return true;
}

void CurlCookieStore::Clear() {
  curl_easy_setopt(control_, CURLOPT_COOKIELIST, "ALL");
  limits_.Clear();
  if (!jar_.empty()) unlink(jar_.c_str());
}

}  // namespace urlsession
