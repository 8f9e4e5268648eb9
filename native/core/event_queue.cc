#include "core/event_queue.h"

#include <utility>

namespace urlsession {

// Any thread. Wakes the JS thread only on the empty -> non-empty transition.
void EventQueue::Post(Event event) {
  bool begins_batch = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    if (IsProgress(event.type)) {
      auto& slots = progress_slot_[event.type == EventType::UploadProgress ? 1 : 0];
      auto found = slots.find(event.taskIdentifier);
      if (found != slots.end()) {
        // Coalesce: the newer totals replace the waiting ones, keeping the queue position,
        // which stays ahead of any completion event of the same task posted later.
        pending_[found->second] = std::move(event);
        return;
      }
      slots.emplace(event.taskIdentifier, pending_.size());
    }
    begins_batch = pending_.empty();
    pending_.push_back(std::move(event));
    if (begins_batch && holding_) {
      wake_owed_ = true;
      return;
    }
  }
  if (begins_batch && wake_ != nullptr) wake_(wake_context_);
}

void EventQueue::HoldWake() {
  std::lock_guard<std::mutex> lock(mutex_);
  holding_ = true;
}

void EventQueue::ReleaseWake() {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    holding_ = false;
    wake = wake_owed_ && !closed_;
    wake_owed_ = false;
  }
  if (wake && wake_ != nullptr) wake_(wake_context_);
}

// JS thread. Takes the whole batch; the next Post starts a new one.
std::vector<Event> EventQueue::Drain() {
  std::vector<Event> batch;
  std::lock_guard<std::mutex> lock(mutex_);
  batch.swap(pending_);
  progress_slot_[0].clear();
  progress_slot_[1].clear();
  return batch;
}

void EventQueue::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  pending_.clear();
  progress_slot_[0].clear();
  progress_slot_[1].clear();
}

}  // namespace urlsession
