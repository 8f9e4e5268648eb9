// Checks the cookie limits against libcurl's real cookie store, for what a test server cannot
// easily send: cookies with odd paths and flags (set through libcurl's own Set-Cookie parser),
// cookies libcurl lists differently from how it holds them, jar files with odd lines; and
// MakePrivateFile against the file system. Usage: cookie_store_check <empty temp folder>.
// Prints one line per failed check, then "checks: N, failed: M"; exits 1 when any failed.
// Run by test/native/cookie-store.test.ts.
#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/cookie_limits.h"
#include "curl/curl_cookie_store.h"

using urlsession::CookieLimits;
using urlsession::CurlCookieStore;

namespace {

int checks = 0;
int failed = 0;

void Check(bool ok, const std::string& what) {
  ++checks;
  if (ok) return;
  ++failed;
  std::printf("FAILED: %s\n", what.c_str());
}

std::vector<std::string> Split(const std::string& line) {
  std::vector<std::string> fields;
  size_t begin = 0;
  for (size_t tab; (tab = line.find('\t', begin)) != std::string::npos; begin = tab + 1)
    fields.push_back(line.substr(begin, tab - begin));
  fields.push_back(line.substr(begin));
  return fields;
}

// A session's share and control handle, as CurlEngine sets them up.
struct Store {
  CURLSH* share = curl_share_init();
  CURL* control = curl_easy_init();
  std::unique_ptr<CurlCookieStore> cookies;

  explicit Store(const std::string& jar = std::string()) {
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
    curl_easy_setopt(control, CURLOPT_SHARE, share);
    cookies = std::make_unique<CurlCookieStore>(control, jar);
  }
  ~Store() {
    cookies.reset();
    curl_easy_cleanup(control);
    curl_share_cleanup(share);
  }

  // The cookies the store holds and has not expired: the lines CURLINFO_COOKIELIST gives.
  std::vector<std::vector<std::string>> Live() {
    curl_slist* list = nullptr;
    curl_easy_getinfo(control, CURLINFO_COOKIELIST, &list);
    std::vector<std::vector<std::string>> live;
    long long now = static_cast<long long>(std::time(nullptr));
    for (curl_slist* item = list; item != nullptr; item = item->next) {
      std::vector<std::string> fields = Split(item->data);
      long long expires = fields.size() > 4 ? std::atoll(fields[4].c_str()) : 0;
      if (expires == 0 || expires >= now) live.push_back(fields);
    }
    curl_slist_free_all(list);
    return live;
  }

  std::set<std::string> Names() {
    std::set<std::string> names;
    for (const auto& fields : Live()) names.insert(fields.size() > 5 ? fields[5] : "?");
    return names;
  }

  // Set-Cookie header values through libcurl's header parser, on a transfer handle of the share
  // (a fresh one per 50: libcurl takes at most 50 Set-Cookie per handle and request).
  void SetHeaders(const std::vector<std::string>& values) {
    for (size_t begin = 0; begin < values.size(); begin += 50) {
      CURL* easy = curl_easy_init();
      curl_easy_setopt(easy, CURLOPT_SHARE, share);
      for (size_t i = begin; i < values.size() && i < begin + 50; ++i) {
        curl_easy_setopt(easy, CURLOPT_COOKIELIST, ("Set-Cookie: " + values[i]).c_str());
      }
      curl_easy_cleanup(easy);
    }
  }

  void SetLine(const std::string& line) { curl_easy_setopt(control, CURLOPT_COOKIELIST, line.c_str()); }
};

std::set<std::string> Range(const char* prefix, int from, int to) {
  std::set<std::string> names;
  for (int i = from; i < to; ++i) names.insert(prefix + std::to_string(i));
  return names;
}

// Cookies with every odd path and flag libcurl's parser lets through are named exactly by the
// expired copies: evicted without emptying the store.
void OddCookiesAreEvicted() {
  Store store;
  const char* paths[] = {"TRUE", "FALSE", "\"/q/\"", "noslash", "/a/", "/"};
  const char* flags[] = {"", "; secure", "; httponly", "; secure; httponly"};
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<std::string> headers;
    for (int i = batch * 50; i < batch * 50 + 50; ++i) {
      std::string name = (i % 7 == 0 ? "__Secure-p" : "p") + std::to_string(i);
      std::string value = i % 5 == 0 ? "" : "v";
      std::string flag = name.rfind("__Secure-", 0) == 0 ? "; secure" : flags[i % 4];
      headers.push_back(name + "=" + value + "; domain=odd.example; path=" + paths[i % 6] + flag);
    }
    store.SetHeaders(headers);
    store.cookies->Enforce();
  }
  std::set<std::string> names = store.Names();
  Check(names.size() == urlsession::kCookiesPerDomain, "odd cookies: 150 kept, not " + std::to_string(names.size()));
  std::set<std::string> expected;
  for (int i = 50; i < 200; ++i) expected.insert((i % 7 == 0 ? "__Secure-p" : "p") + std::to_string(i));
  Check(names == expected, "odd cookies: the newest 150 are kept");
  Check(store.cookies->rebuilds() == 0, "odd cookies: evicted one by one, without emptying the store");
}

// A netscape line with two leading dots makes libcurl hold ".stuck.example", which it lists in a
// form that reads back as "stuck.example": no line names that cookie, so eviction must fall back
// to emptying the store and giving back what fits.
void UnnameableCookiesAreRemovedByARebuild() {
  Store store;
  store.SetLine(".keep.example\tTRUE\t/\tFALSE\t0\tkept\tv");
  for (int batch = 0; batch < 4; ++batch) {
    for (int i = batch * 50; i < batch * 50 + 50; ++i)
      store.SetLine("..stuck.example\tTRUE\t/\tFALSE\t0\ts" + std::to_string(i) + "\tv");
    store.cookies->Enforce();
  }
  std::set<std::string> expected = Range("s", 50, 200);
  expected.insert("kept");
  Check(store.Names() == expected,
        "unnameable cookies: the newest 150 of the domain and the other domain's cookie kept");
  Check(store.cookies->rebuilds() == 1,
        "unnameable cookies: one rebuild, not " + std::to_string(store.cookies->rebuilds()));
  // After the rebuild every cookie reads back as it is listed: the next eviction needs none.
  for (int i = 200; i < 250; ++i) store.SetLine(".stuck.example\tTRUE\t/\tFALSE\t0\ts" + std::to_string(i) + "\tv");
  store.cookies->Enforce();
  expected = Range("s", 100, 250);
  expected.insert("kept");
  Check(store.Names() == expected, "after the rebuild: evicted by expiring again");
  Check(store.cookies->rebuilds() == 1, "after the rebuild: no second one");
}

const char kOddJar[] =
    "# Netscape HTTP Cookie File\r\n"
    "\r\n"
    "#HttpOnly_.h.example\tTRUE\t/\tTRUE\t0\thttponly\tv\r\n"
    ".h.example\tTRUE\t/\tFALSE\t0\tnovalue\n"
    ".h.example\tTRUE\t/\tFALSE\t0\tempty\t\n"
    ".h.example\tTRUE\t/\tFALSE\t0\tlong\t@LONG@\n"
    ".h.example\tTRUE\t/\tFALSE\t0\tafterlong\tv\n"
    ".h.example\tTRUE\t/\tFALSE\t0\tdup\tnewer\n"
    ".h.example\tTRUE\t/\tFALSE\t0\tdup\tolder\n"
    ".h.example\tTRUE\tTRUE\tFALSE\t0\tpathtrue\tv\n"
    ".h.example\tTRUE\t/\tFALSE\t1000\texpired\tv\n"
    "not a cookie line\n"
    ".h.example\tTRUE\t/\tFALSE\tsoon\tbadexpiry\tv\n"
    ".h.example\tTRUE\t/\tFALSE\t0\tlast\tv";

std::string OddJar() {
  std::string text = kOddJar;
  text.replace(text.find("@LONG@"), 6, std::string(6000, 'x'));
  return text;
}

std::vector<std::string> Trim(CookieLimits& limits, const std::string& text, size_t piece) {
  size_t at = 0;
  return limits.TrimJar(
      [&](char* buffer, size_t size) {
        size_t n = std::min({size, piece, text.size() - at});
        std::copy(text.data() + at, text.data() + at + n, buffer);
        at += n;
        return n;
      },
      static_cast<int64_t>(std::time(nullptr)));
}

// Jar lines as a hand or another program may have written them.
void OddJarLines(const std::string& dir) {
  std::string text = OddJar();
  CookieLimits whole;
  CookieLimits bytewise;
  std::vector<std::string> lines = Trim(whole, text, text.size());
  Check(lines == Trim(bytewise, text, 3), "odd jar: read in 3-byte pieces gives the same lines");
  Check(lines.size() == 7, "odd jar: 7 cookies taken, not " + std::to_string(lines.size()));
  Check(whole.size() == 7, "odd jar: 7 cookies remembered");

  std::string jar = dir + "/odd-cookies.txt";
  std::ofstream(jar, std::ios::binary) << text;
  Store store(jar);
  store.cookies->Load();
  std::set<std::string> expected = {"httponly", "novalue", "empty", "afterlong", "dup", "pathtrue", "last"};
  Check(store.Names() == expected,
        "odd jar: loaded exactly the 7 cookies (the overlong, expired and broken lines left out)");
  for (const auto& fields : store.Live()) {
    if (fields[5] == "httponly")
      Check(fields[0] == "#HttpOnly_.h.example" && fields[3] == "TRUE", "odd jar: HttpOnly and Secure kept");
    if (fields[5] == "dup")
      Check(fields[6] == "newer", "odd jar: of two lines for one cookie the first (newest) is kept");
    if (fields[5] == "novalue")
      Check(fields.size() == 7 && fields[6].empty(), "odd jar: a line without a value gives an empty one");
    if (fields[5] == "pathtrue")
      Check(fields[2] == "//", "odd jar: a path of TRUE reads back as //, not as a shifted line");
  }
}

// Small limits: per domain first, then in total, reading newest first; given oldest first.
void TrimOrder() {
  CookieLimits limits(2, 4);
  std::string text =
      "a.example\tFALSE\t/\tFALSE\t0\ta3\tv\n"  // the newest
      "b.example\tFALSE\t/\tFALSE\t0\tb2\tv\n"
      "a.example\tFALSE\t/\tFALSE\t0\ta2\tv\n"
      "a.example\tFALSE\t/\tFALSE\t0\ta1\tv\n"   // a third of a.example: over its limit
      "b.example\tFALSE\t/\tFALSE\t0\tb1\tv\n"   // the fourth kept: the total is reached
      "c.example\tFALSE\t/\tFALSE\t0\tc1\tv\n";  // older than all kept: not even read
  std::vector<std::string> lines = Trim(limits, text, text.size());
  std::vector<std::string> names;
  for (const auto& line : lines) names.push_back(Split(line)[5]);
  Check((names == std::vector<std::string>{"b1", "a2", "b2", "a3"}), "small limits: b1, a2, b2, a3, oldest first");
}

int ModeOf(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
}

void PrivateFiles(const std::string& dir) {
  using urlsession::MakePrivateFile;
  mode_t old = umask(0277);  // would make a new file 0400
  Check(MakePrivateFile(dir + "/new") == 0 && ModeOf(dir + "/new") == 0600,
        "a missing file is created 0600 whatever the umask");
  umask(old);

  std::string wide = dir + "/wide";
  std::ofstream(wide) << "keep";
  chmod(wide.c_str(), 0644);
  Check(MakePrivateFile(wide) == 0 && ModeOf(wide) == 0600, "an existing 0644 file of ours becomes 0600");
  std::ifstream in(wide);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Check(content == "keep", "its content is left alone");

  std::string target = dir + "/target";
  std::ofstream(target) << "target";
  chmod(target.c_str(), 0644);
  std::string link = dir + "/link";
  symlink(target.c_str(), link.c_str());
  Check(MakePrivateFile(link) == 0, "a symlink is replaced");
  struct stat st;
  Check(lstat(link.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ModeOf(link) == 0600, "by a private regular file");
  Check(ModeOf(target) == 0644, "the symlink's target keeps its mode");

  std::string fifo = dir + "/fifo";
  mkfifo(fifo.c_str(), 0600);
  Check(MakePrivateFile(fifo) == EINVAL, "a FIFO is refused at once (no wait for a writer)");
  Check(MakePrivateFile(dir) != 0, "a directory is refused");

  if (geteuid() == 0) {
    std::string foreign = dir + "/foreign";
    std::ofstream(foreign) << "x";
    chmod(foreign.c_str(), 0644);
    Check(chown(foreign.c_str(), 65534, 65534) == 0, "chown to nobody");
    Check(MakePrivateFile(foreign) == EPERM && ModeOf(foreign) == 0644,
          "another user's file is refused and left as it is");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <empty temp folder>\n", argv[0]);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  OddCookiesAreEvicted();
  UnnameableCookiesAreRemovedByARebuild();
  OddJarLines(argv[1]);
  TrimOrder();
  PrivateFiles(argv[1]);
  curl_global_cleanup();
  std::printf("checks: %d, failed: %d\n", checks, failed);
  return failed == 0 ? 0 : 1;
}
