// Idle libcurl easy handles of one session, kept for the next transfer. curl_easy_reset keeps
// what a fresh handle would have to rebuild (its allocations, DNS and TLS session caches), so a
// run of small requests skips curl_easy_init/cleanup per request (bench/ANALYSIS.md, (c)).
// Engine thread only.
#pragma once

#include <curl/curl.h>

#include <vector>

namespace urlsession {

class EasyPool {
 public:
  EasyPool() = default;
  ~EasyPool() { Clear(); }
  EasyPool(const EasyPool&) = delete;
  EasyPool& operator=(const EasyPool&) = delete;

  // A handle with default options: a pooled one, or a new one (nullptr when out of memory).
  CURL* Acquire() {
    if (idle_.empty()) return curl_easy_init();
    CURL* easy = idle_.back();
    idle_.pop_back();
    return easy;
  }
  // Takes back a handle no multi handle holds any more. Reset at once, so it stops pointing at
  // the finished transfer's header list, buffers and callbacks.
  void Release(CURL* easy) {
    if (easy == nullptr) return;
    if (idle_.size() >= kMaxIdle) {
      curl_easy_cleanup(easy);
      return;
    }
    // A cookie file list that no transfer consumed (one cancelled before it started) survives
    // curl_easy_reset in libcurl 7.88 and leaks (valgrind); a NULL file frees it. With the
    // session's shared cookie store this leaves the cookies themselves alone.
    curl_easy_setopt(easy, CURLOPT_COOKIEFILE, static_cast<char*>(nullptr));
    curl_easy_reset(easy);
    idle_.push_back(easy);
  }
  // Before the share handle the pooled handles were attached to goes away.
  void Clear() {
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    idle_.clear();
  }

 private:
  static constexpr size_t kMaxIdle = 16;
  std::vector<CURL*> idle_;
};

}  // namespace urlsession
