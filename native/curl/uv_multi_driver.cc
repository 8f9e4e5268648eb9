#include "curl/uv_multi_driver.h"

namespace urlsession {
namespace {

// Handles are freed in their close callbacks, which libuv runs on a later loop turn.
void FreeHandle(uv_handle_t* handle) { delete reinterpret_cast<uv_any_handle*>(handle); }

}  // namespace

UvMultiDriver::UvMultiDriver(uv_loop_t* loop, CURLM* multi, std::function<void()> afterActivity)
    : loop_(loop), multi_(multi), after_activity_(std::move(afterActivity)) {
  timer_ = &(new uv_any_handle)->timer;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  // The bridge refs the loop while tasks are outstanding; the driver's own handles never do.
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
  wake_ = &(new uv_any_handle)->timer;
  uv_timer_init(loop_, wake_);
  wake_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(wake_));
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &UvMultiDriver::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &UvMultiDriver::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

UvMultiDriver::~UvMultiDriver() { Close(); }

void UvMultiDriver::Close() {
  if (closed_) return;
  closed_ = true;
  for (auto& entry : polls_) uv_close(reinterpret_cast<uv_handle_t*>(entry.second), FreeHandle);
  polls_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(timer_), FreeHandle);
  uv_close(reinterpret_cast<uv_handle_t*>(wake_), FreeHandle);
}

void UvMultiDriver::WakeAfter(int delayMs) {
  if (closed_) return;
  if (delayMs < 0) uv_timer_stop(wake_);
  else uv_timer_start(wake_, &UvMultiDriver::OnWake, static_cast<uint64_t>(delayMs), 0);
}

void UvMultiDriver::OnWake(uv_timer_t* handle) {
  auto* self = static_cast<UvMultiDriver*>(handle->data);
  if (!self->closed_) self->after_activity_();
}

void UvMultiDriver::Act(curl_socket_t socket, int flags) {
  int running = 0;
  curl_multi_socket_action(multi_, socket, flags, &running);
  after_activity_();
}

int UvMultiDriver::OnSocket(CURL*, curl_socket_t socket, int what, void* self_ptr, void*) {
  auto* self = static_cast<UvMultiDriver*>(self_ptr);
  if (self->closed_) return 0;
  auto found = self->polls_.find(socket);
  if (what == CURL_POLL_REMOVE) {
    if (found != self->polls_.end()) {
      uv_close(reinterpret_cast<uv_handle_t*>(found->second), FreeHandle);
      self->polls_.erase(found);
    }
    return 0;
  }
  uv_poll_t* poll = nullptr;
  if (found == self->polls_.end()) {
    poll = &(new uv_any_handle)->poll;
    if (uv_poll_init_socket(self->loop_, poll, socket) != 0) {
      delete reinterpret_cast<uv_any_handle*>(poll);
      return -1;
    }
    poll->data = self;
    uv_unref(reinterpret_cast<uv_handle_t*>(poll));
    self->polls_.emplace(socket, poll);
  } else {
    poll = found->second;
  }
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
  uv_poll_start(poll, events, &UvMultiDriver::OnPoll);
  return 0;
}

int UvMultiDriver::OnTimer(CURLM*, long timeoutMs, void* self_ptr) {
  auto* self = static_cast<UvMultiDriver*>(self_ptr);
  if (self->closed_) return 0;
  if (timeoutMs < 0) {
    uv_timer_stop(self->timer_);
  } else {
    // 0 means "now": still via the timer, because libcurl forbids re-entering socket_action here.
    uv_timer_start(self->timer_, &UvMultiDriver::OnTimeout, static_cast<uint64_t>(timeoutMs), 0);
  }
  return 0;
}

void UvMultiDriver::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<UvMultiDriver*>(handle->data);
  if (self->closed_) return;
  curl_socket_t socket = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(handle), &socket);
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  self->Act(socket, flags);
}

void UvMultiDriver::OnTimeout(uv_timer_t* handle) {
  auto* self = static_cast<UvMultiDriver*>(handle->data);
  if (!self->closed_) self->Act(CURL_SOCKET_TIMEOUT, 0);
}

}  // namespace urlsession
