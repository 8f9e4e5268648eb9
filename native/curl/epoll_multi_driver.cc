#include "curl/epoll_multi_driver.h"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace urlsession {

EpollMultiDriver::EpollMultiDriver(CURLM* multi) : multi_(multi) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    failure_ = std::string("epoll_create1: ") + std::strerror(errno);
  } else if ((wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
    failure_ = std::string("eventfd: ") + std::strerror(errno);
  } else {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = wake_fd_;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0)
      failure_ = std::string("epoll_ctl: ") + std::strerror(errno);
  }
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &EpollMultiDriver::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &EpollMultiDriver::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

// After curl_multi_cleanup (which still reports removed sockets to OnSocket).
EpollMultiDriver::~EpollMultiDriver() {
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void EpollMultiDriver::Wake() {
  uint64_t one = 1;
  ssize_t written;
  do { written = write(wake_fd_, &one, sizeof(one)); } while (written < 0 && errno == EINTR);
  // EAGAIN: the counter is already non-zero, so a wake-up is pending anyway.
}

// How often the scheduler took the CPU from this thread while it wanted to run.
static long InvoluntarySwitches() {
  rusage usage{};
  return getrusage(RUSAGE_THREAD, &usage) == 0 ? usage.ru_nivcsw : 0;
}

void EpollMultiDriver::Wait(int max_wait_ms, Clock::time_point spin_until) {
  int count;
  // Polling with a zero timeout never sleeps, so the thread needs no wake-up when the answer
  // comes, which costs more than the wait (bench/ANALYSIS.md, why small requests were slow).
  // That holds only while a CPU is free for it: a poll the scheduler preempted was keeping
  // another runnable thread (the host's JS thread, an in-process server, other processes) off a
  // CPU, and a thread that keeps spinning loses its place to sleepers. So after a preempted
  // window the thread sleeps through every window of the next kSpinBackoff (bench/ANALYSIS.md,
  // "Small requests (issues 19 and 20)", has the runs that showed it).
  Clock::time_point now = Clock::now();
  if (now < spin_until && now >= spin_resumes_) {
    const long preempted = InvoluntarySwitches();
    bool answered = false;  // a socket or the wake-up is ready, or libcurl's timer is due
    for (; !answered && now < spin_until; now = Clock::now()) {
      if (timer_armed_ && now >= timer_due_) break;
      count = epoll_wait(epoll_fd_, ready_, kMaxReady, 0);
      answered = count > 0;
    }
    if (InvoluntarySwitches() != preempted) spin_resumes_ = now + kSpinBackoff;
    if (answered || (timer_armed_ && now >= timer_due_)) {
      ready_count_ = answered ? count : 0;
      return;
    }
  }
  int wait_ms = max_wait_ms;
  if (timer_armed_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(timer_due_ - Clock::now()).count();
    wait_ms = static_cast<int>(std::clamp<long long>(left, 0, max_wait_ms));
  }
  do { count = epoll_wait(epoll_fd_, ready_, kMaxReady, wait_ms); } while (count < 0 && errno == EINTR);
  ready_count_ = std::max(count, 0);
}

void EpollMultiDriver::Act() {
  int running = 0;
  // Only Wait() writes ready_, and libcurl's callbacks below never call it: safe to walk.
  for (int i = 0; i < ready_count_; ++i) {
    const epoll_event& event = ready_[i];
    if (event.data.fd == wake_fd_) {
      uint64_t value;
      while (read(wake_fd_, &value, sizeof(value)) > 0) {}
      continue;
    }
    int flags = 0;
    if (event.events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) flags |= CURL_CSELECT_IN;
    if (event.events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (event.events & EPOLLERR) flags |= CURL_CSELECT_ERR;
    // A socket an earlier action closed is unknown to libcurl by now, which it ignores.
    curl_multi_socket_action(multi_, event.data.fd, flags, &running);
  }
  ready_count_ = 0;
  if (timer_armed_ && Clock::now() >= timer_due_) {
    timer_armed_ = false;
    curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  }
}

int EpollMultiDriver::OnSocket(CURL*, curl_socket_t socket, int what, void* self_ptr, void*) {
  auto* self = static_cast<EpollMultiDriver*>(self_ptr);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, socket, nullptr);
    return 0;
  }
  epoll_event event{};
  event.data.fd = socket;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) event.events |= EPOLLIN;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) event.events |= EPOLLOUT;
  if (epoll_ctl(self->epoll_fd_, EPOLL_CTL_MOD, socket, &event) != 0 && errno == ENOENT) {
    epoll_ctl(self->epoll_fd_, EPOLL_CTL_ADD, socket, &event);
  }
  return 0;
}

int EpollMultiDriver::OnTimer(CURLM*, long timeoutMs, void* self_ptr) {
  auto* self = static_cast<EpollMultiDriver*>(self_ptr);
  if (timeoutMs < 0) {
    self->timer_armed_ = false;
  } else {
    self->timer_armed_ = true;
    self->timer_due_ = Clock::now() + std::chrono::milliseconds(timeoutMs);
  }
  return 0;
}

}  // namespace urlsession
