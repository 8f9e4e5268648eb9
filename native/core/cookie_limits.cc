#include "core/cookie_limits.h"

#include <cstring>
#include <iterator>
#include <unordered_set>

namespace urlsession {
namespace {

constexpr size_t kMaxLine = 5000;  // libcurl's MAX_COOKIE_LINE: longer jar lines are skipped
constexpr std::string_view kHttpOnly = "#HttpOnly_";

// One line of the Netscape cookie-file format:
//   [#HttpOnly_]domain \t include-subdomains \t path \t secure \t expires \t name \t value
// libcurl prints a domain cookie's domain with a leading dot and an empty value as nothing
// after the last tab (or no last tab in hand-written files).
struct CookieLine {
  std::string_view httpOnly;  // "#HttpOnly_" or empty
  std::string_view domain, subdomains, path, secure, expires, name, value;
  int64_t expiry = 0;  // 0: a session cookie
};

bool ParseExpiry(std::string_view text, int64_t* out) {
  bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty()) return false;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    // Far beyond any real date: clamp instead of overflowing.
    value = value > (INT64_MAX - 9) / 10 ? INT64_MAX : value * 10 + (c - '0');
  }
  *out = negative ? -value : value;
  return true;
}

bool Parse(std::string_view line, CookieLine* cookie) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, kHttpOnly.size()) == kHttpOnly) {
    cookie->httpOnly = kHttpOnly;
    line.remove_prefix(kHttpOnly.size());
  }
  if (line.empty() || line[0] == '#') return false;  // blank or a comment
  std::string_view* fields[] = {&cookie->domain, &cookie->subdomains, &cookie->path,
                                &cookie->secure, &cookie->expires,    &cookie->name};
  for (size_t i = 0; i < 6; ++i) {
    size_t tab = line.find('\t');
    *fields[i] = line.substr(0, tab);
    if (fields[i]->empty()) return false;
    if (tab == std::string_view::npos) {
      if (i != 5) return false;
      line = std::string_view();
    } else {
      line.remove_prefix(tab + 1);
    }
  }
  cookie->value = line;
  return ParseExpiry(cookie->expires, &cookie->expiry);
}

// libcurl drops a cookie once `expires` is past (remove_expired: expires && expires < now).
bool Expired(const CookieLine& cookie, int64_t now) { return cookie.expiry != 0 && cookie.expiry < now; }

// libcurl compares cookie fields without ASCII case (strcasecompare), whatever the locale.
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

void AppendLower(std::string* out, std::string_view text) {
  for (char c : text) out->push_back(Lower(c));
}

bool IsTrue(std::string_view field) {
  return field.size() == 4 && Lower(field[0]) == 't' && Lower(field[1]) == 'r' && Lower(field[2]) == 'u' &&
         Lower(field[3]) == 'e';
}

// libcurl's sanitize_cookie_path: the path cookies are matched and told apart by.
std::string_view SanitizedPath(std::string_view path) {
  if (!path.empty() && path.front() == '"') path.remove_prefix(1);
  if (!path.empty() && path.back() == '"') path.remove_suffix(1);
  if (path.empty() || path.front() != '/') return "/";
  if (path.back() == '/') path.remove_suffix(1);
  return path;
}

// What makes two cookies one to libcurl (Curl_cookie_add replaces on it): the domain (one leading
// dot is not part of it), whether subdomains match, the sanitized path and the name, all compared
// without ASCII case.
std::string Key(const CookieLine& cookie) {
  std::string key;
  std::string_view domain = cookie.domain;
  if (domain.front() == '.') domain.remove_prefix(1);
  AppendLower(&key, domain);
  key += IsTrue(cookie.subdomains) ? "\tT\t" : "\tF\t";
  AppendLower(&key, SanitizedPath(cookie.path));
  key.push_back('\t');
  AppendLower(&key, cookie.name);
  return key;
}

// What the per-domain limit counts: the domain without its leading dots.
std::string DomainOf(const CookieLine& cookie) {
  std::string_view domain = cookie.domain;
  while (!domain.empty() && domain.front() == '.') domain.remove_prefix(1);
  std::string out;
  AppendLower(&out, domain);
  return out;
}

// The cookie as a line libcurl reads back into the same cookie. libcurl prints the path as it was
// set, and reads a path of "TRUE" or "FALSE" as a missing one (shifting every later field); such
// a path sanitizes to "/", and so does "//", which reads back intact. `expires` replaces the
// expiry when given.
std::string Line(const CookieLine& cookie, std::string_view expires = std::string_view()) {
  std::string_view path = cookie.path == "TRUE" || cookie.path == "FALSE" ? std::string_view("//") : cookie.path;
  std::string line;
  line.reserve(cookie.httpOnly.size() + cookie.domain.size() + path.size() + cookie.name.size() + cookie.value.size() +
               40);
  line.append(cookie.httpOnly).append(cookie.domain).append("\t").append(cookie.subdomains).append("\t");
  line.append(path).append("\t").append(cookie.secure).append("\t");
  line.append(expires.empty() ? cookie.expires : expires).append("\t");
  line.append(cookie.name).append("\t").append(cookie.value);
  return line;
}

}  // namespace

CookieLimits::CookieLimits(size_t perDomain, size_t total) : per_domain_(perDomain), total_(total) {}

void CookieLimits::Clear() {
  by_age_.clear();
  by_key_.clear();
}

CookieLimits::Ages::iterator CookieLimits::Remember(std::string key, std::string domain) {
  auto entry = by_age_.emplace(next_age_++, Entry{key, std::move(domain)}).first;
  by_key_.emplace(std::move(key), entry);
  return entry;
}

void CookieLimits::Forget(Ages::iterator entry) {
  by_key_.erase(entry->second.key);
  by_age_.erase(entry);
}

std::vector<CookieLimits::Ages::iterator> CookieLimits::Excess() {
  std::unordered_map<std::string_view, size_t> per_domain;
  for (const auto& entry : by_age_) ++per_domain[entry.second.domain];
  std::vector<Ages::iterator> excess;
  std::unordered_set<uint64_t> chosen;
  size_t left = by_age_.size();
  for (auto entry = by_age_.begin(); entry != by_age_.end(); ++entry) {
    size_t& count = per_domain[entry->second.domain];
    if (count <= per_domain_) continue;
    --count;
    --left;
    excess.push_back(entry);
    chosen.insert(entry->first);
  }
  for (auto entry = by_age_.begin(); entry != by_age_.end() && left > total_; ++entry) {
    if (chosen.count(entry->first) > 0) continue;
    --left;
    excess.push_back(entry);
  }
  return excess;
}

std::vector<std::string> CookieLimits::TrimJar(const std::function<size_t(char*, size_t)>& read, int64_t now) {
  Clear();
  struct Kept {
    std::string line, key, domain;
  };
  std::vector<Kept> kept;  // newest first, as read
  std::unordered_set<std::string> keys;
  std::unordered_map<std::string, size_t> per_domain;
  // Takes one line; false once the total limit is reached.
  auto take = [&](std::string_view text) {
    CookieLine cookie;
    if (!Parse(text, &cookie) || Expired(cookie, now)) return true;
    std::string key = Key(cookie);
    if (keys.count(key) > 0) return true;  // the newer one is kept already
    std::string domain = DomainOf(cookie);
    size_t& count = per_domain[domain];
    if (count >= per_domain_) return true;
    ++count;
    keys.insert(key);
    kept.push_back(Kept{Line(cookie), std::move(key), std::move(domain)});
    return kept.size() < total_;
  };

  std::string line;
  bool overlong = false;
  bool more = true;
  char buffer[16 * 1024];
  while (more) {
    size_t got = read(buffer, sizeof(buffer));
    if (got == 0) break;
    for (size_t begin = 0; begin < got && more;) {
      const char* newline = static_cast<const char*>(std::memchr(buffer + begin, '\n', got - begin));
      size_t end = newline == nullptr ? got : static_cast<size_t>(newline - buffer);
      if (!overlong && line.size() + (end - begin) <= kMaxLine)
        line.append(buffer + begin, end - begin);
      else
        overlong = true;
      begin = end + 1;
      if (newline == nullptr) break;
      if (!overlong) more = take(line);
      line.clear();
      overlong = false;
    }
  }
  if (more && !overlong && !line.empty()) take(line);

  std::vector<std::string> lines;
  lines.reserve(kept.size());
  for (auto cookie = kept.rbegin(); cookie != kept.rend(); ++cookie) {
    Remember(std::move(cookie->key), std::move(cookie->domain));
    lines.push_back(std::move(cookie->line));
  }
  return lines;
}

CookieLimits::Decision CookieLimits::Update(const std::vector<std::string_view>& store, int64_t now) {
  ++update_;
  bool rebuild = false;
  for (size_t i = 0; i < store.size(); ++i) {
    CookieLine cookie;
    if (!Parse(store[i], &cookie)) {
      rebuild = true;  // a line no line of ours could name: only emptying the store removes it
      continue;
    }
    if (Expired(cookie, now)) continue;  // libcurl removes it the next time it looks
    std::string key = Key(cookie);
    auto found = by_key_.find(key);
    Ages::iterator entry;
    if (found == by_key_.end()) {
      entry = Remember(std::move(key), DomainOf(cookie));
    } else {
      entry = found->second;
      // Listed twice (two cookies one key), or still here after its expired copy was added:
      // libcurl holds a cookie that differs from how it prints it.
      if (entry->second.seen == update_ || entry->second.expiring) rebuild = true;
    }
    entry->second.seen = update_;
    entry->second.line = i;
  }
  for (auto entry = by_age_.begin(); entry != by_age_.end();) {
    auto next = std::next(entry);
    if (entry->second.seen != update_) Forget(entry);  // gone: expired, replaced or cleared
    entry = next;
  }

  Decision decision;
  if (!rebuild) {
    for (auto entry : Excess()) {
      CookieLine cookie;
      Parse(store[entry->second.line], &cookie);
      entry->second.expiring = true;
      // Expiry 1 (1970): libcurl replaces the cookie with this copy and drops it at its next look.
      decision.lines.push_back(Line(cookie, "1"));
    }
    if (!decision.lines.empty()) decision.action = Action::kExpire;
    return decision;
  }
  // The cookies expiring could not reach go with the rebuild; the others are given back in
  // order of age, so the store's own order (libcurl's creation times) stays that of their ages.
  for (auto entry = by_age_.begin(); entry != by_age_.end();) {
    auto next = std::next(entry);
    if (entry->second.expiring) Forget(entry);
    entry = next;
  }
  for (auto entry : Excess()) Forget(entry);
  decision.action = Action::kRebuild;
  for (const auto& entry : by_age_) {
    CookieLine cookie;
    Parse(store[entry.second.line], &cookie);
    decision.lines.push_back(Line(cookie));
  }
  return decision;
}

}  // namespace urlsession
