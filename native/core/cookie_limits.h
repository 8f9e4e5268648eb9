// Keeps a cookie store within a number of cookies per domain and in total, evicting the oldest
// first, as browsers do. Portable and store-agnostic: cookies come and go as lines of the
// Netscape cookie-file format (what libcurl lists with CURLINFO_COOKIELIST, takes with
// CURLOPT_COOKIELIST and writes to its jar), and this class only remembers each cookie's age and
// says which lines to give the store. Not thread-safe: one owner thread (the engine's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace urlsession {

// RFC 6265 §6.1 asks a user agent to keep at least 50 cookies per domain and 3000 in total.
// Per domain: 150, the most cookies libcurl 7.88 sends in one request (MAX_COOKIE_SEND_AMOUNT).
// It sends the oldest matching ones first, so with more than that kept, the newest cookies of a
// domain (a fresh session cookie) would never be sent. In total: RFC 6265's 3000.
constexpr size_t kCookiesPerDomain = 150;
constexpr size_t kCookiesInTotal = 3000;

class CookieLimits {
 public:
  explicit CookieLimits(size_t perDomain = kCookiesPerDomain, size_t total = kCookiesInTotal);

  // Reads a cookie file through `read` (fills the buffer, returns the bytes read, 0 at its end),
  // newest cookie first (the order libcurl writes its jar in), and returns the lines to give an
  // empty store, oldest first and within the limits: the newest of each domain, then the newest
  // of all. Expired cookies, duplicates, comments and lines no store would take are left out;
  // reading stops once the total limit is reached (the rest is older). Lines longer than
  // libcurl's MAX_COOKIE_LINE (5000 bytes) are skipped, as libcurl skips them: memory stays
  // bounded whatever the file holds. The kept cookies are remembered as the oldest ones.
  std::vector<std::string> TrimJar(const std::function<size_t(char*, size_t)>& read, int64_t now);

  enum class Action {
    kNone,    // within the limits
    kExpire,  // give the store `lines`: each replaces one cookie with an expired copy of it
    kRebuild  // the store holds cookies no line can name: empty it and give it `lines`
  };
  struct Decision {
    Action action = Action::kNone;
    std::vector<std::string> lines;
  };

  // After the store may have changed: `store` is every cookie it lists, in any order. Cookies not
  // seen before are the newest (in `store`'s order); those no longer listed are forgotten.
  // Decides what brings the store back within the limits. A cookie that kExpire aimed at and that
  // is still listed, one key listed twice or a line that does not parse makes it kRebuild (with
  // every cookie that fits, oldest first, except the ones expiring could not reach).
  Decision Update(const std::vector<std::string_view>& store, int64_t now);

  void Clear();
  size_t size() const { return by_age_.size(); }

 private:
  struct Entry {
    std::string key;     // what identifies a cookie to libcurl: domain, host-only or not, path, name
    std::string domain;  // what the per-domain limit counts
    uint64_t seen = 0;   // the Update that last listed it
    size_t line = 0;     // its line in that Update's `store`
    bool expiring = false;
  };
  using Ages = std::map<uint64_t, Entry>;

  Ages::iterator Remember(std::string key, std::string domain);
  void Forget(Ages::iterator entry);
  // The entries beyond the limits, oldest first: per domain first, then in total.
  std::vector<Ages::iterator> Excess();

  size_t per_domain_;
  size_t total_;
  uint64_t next_age_ = 0;
  uint64_t update_ = 0;
  Ages by_age_;  // oldest first
  std::unordered_map<std::string, Ages::iterator> by_key_;
};

}  // namespace urlsession
