// How the engine thread waits: libcurl's multi_socket API on an epoll set, instead of
// curl_multi_perform + curl_multi_poll. perform walks every transfer and poll rebuilds a pollfd
// array of every socket on each turn, so with 1,000 transfers each readable socket cost O(1,000);
// here a turn costs what became ready (measured in bench/ANALYSIS.md, workload (f)).
// Linux only, like the curl engine. Everything except Wake() runs on the engine thread.
#pragma once

#include <curl/curl.h>
#include <sys/epoll.h>

#include <chrono>
#include <string>

namespace urlsession {

class EpollMultiDriver {
 public:
  explicit EpollMultiDriver(CURLM* multi);
  ~EpollMultiDriver();
  EpollMultiDriver(const EpollMultiDriver&) = delete;
  EpollMultiDriver& operator=(const EpollMultiDriver&) = delete;

  // Empty when the driver can run; otherwise the system call that failed and why (no file
  // descriptor left, ...). A driver that failed must not be waited on: Wait() would return at
  // once, forever. JS thread (CurlEngine's constructor).
  const std::string& failure() const { return failure_; }
  // Any thread: makes the current or next Wait() return at once.
  void Wake();
  using Clock = std::chrono::steady_clock;
  // Blocks until a socket is ready, libcurl's timer is due, Wake() is called or `max_wait_ms`
  // passes. Records what became ready; Act() hands it to libcurl. Until `spin_until` it polls
  // instead of sleeping (see CurlEngine::SpinDeadline for when and why), unless a window polled
  // less than kSpinBackoff ago was preempted.
  void Wait(int max_wait_ms, Clock::time_point spin_until = {});
  // Lets libcurl act on the sockets Wait() saw ready, then on its timer if it is due (a new
  // transfer arms it at 0 ms).
  void Act();

 private:
  static int OnSocket(CURL* easy, curl_socket_t socket, int what, void* self, void* socketData);
  static int OnTimer(CURLM* multi, long timeoutMs, void* self);

  CURLM* multi_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd
  std::string failure_;
  bool timer_armed_ = false;
  Clock::time_point timer_due_;
  static constexpr int kMaxReady = 256;
  epoll_event ready_[kMaxReady];  // from the last Wait(), consumed by Act()
  int ready_count_ = 0;
  // Wait() polls no window before this moment: the last window it polled was preempted.
  static constexpr std::chrono::milliseconds kSpinBackoff{100};
  Clock::time_point spin_resumes_;
};

}  // namespace urlsession
