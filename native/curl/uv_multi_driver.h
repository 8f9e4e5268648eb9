// The alternative to the engine thread, kept so the choice stays measurable (bench/ANALYSIS.md):
// libcurl's multi_socket API driven by libuv on the JS thread's own loop, the way node-libcurl
// works. Every callback here runs on the JS thread. Selected per session with
// SessionConfig::driveOnHostLoop (bench/peers via URLSESSION_CURL_DRIVER=loop); off by default.
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <functional>
#include <unordered_map>

namespace urlsession {

class UvMultiDriver {
 public:
  // `afterActivity` runs after every curl_multi_socket_action (collect finished transfers).
  UvMultiDriver(uv_loop_t* loop, CURLM* multi, std::function<void()> afterActivity);
  ~UvMultiDriver();
  UvMultiDriver(const UvMultiDriver&) = delete;
  UvMultiDriver& operator=(const UvMultiDriver&) = delete;

  // Stops every poll and the timers; later libcurl callbacks are ignored. Idempotent.
  void Close();
  // Runs `afterActivity` in `delayMs` even if libcurl has nothing to do then (the engine's own
  // timers: CurlEngine::RunTicks); replaces the previous request; negative: none.
  void WakeAfter(int delayMs);

 private:
  static int OnSocket(CURL* easy, curl_socket_t socket, int what, void* self, void* socketData);
  static int OnTimer(CURLM* multi, long timeoutMs, void* self);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnTimeout(uv_timer_t* handle);
  static void OnWake(uv_timer_t* handle);
  void Act(curl_socket_t socket, int flags);

  uv_loop_t* loop_;
  CURLM* multi_;
  std::function<void()> after_activity_;
  uv_timer_t* timer_;  // heap-allocated: uv_close finishes after this object is gone
  uv_timer_t* wake_;   // WakeAfter's, likewise
  std::unordered_map<curl_socket_t, uv_poll_t*> polls_;
  bool closed_ = false;
};

}  // namespace urlsession
