// The hand-off between engine threads and the JS thread.
//
// Engine threads Post(); the JS thread Drain()s whole batches. Post calls the wake function only
// when the queue went from empty to non-empty (while an engine thread holds wake-ups, once at
// ReleaseWake instead), so the bridge wakes JS once per batch, not per event.
// Progress events of one task are coalesced: a newer progress event replaces the one still
// waiting in the queue (keeping its position), so a blocked JS thread costs memory per task,
// not per chunk. Every other event is kept, in order, never dropped.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/engine.h"

namespace urlsession {

class EventQueue final : public EventSink {
 public:
  using WakeFunction = void (*)(void* context);

  // `wake` is called (on the posting thread, outside the lock) when a batch begins.
  EventQueue(WakeFunction wake, void* context) : wake_(wake), wake_context_(context) {}

  void Post(Event event) override;  // any thread
  void HoldWake() override;         // the one engine thread that batches
  void ReleaseWake() override;
  std::vector<Event> Drain();  // JS thread
  // After Close() posts are dropped and wake is never called again (env teardown).
  void Close();

 private:
  static bool IsProgress(EventType type) {
    return type == EventType::DownloadProgress || type == EventType::UploadProgress;
  }

  std::mutex mutex_;
  std::vector<Event> pending_;
  // (task id, progress type) -> index in pending_ of that task's waiting progress event.
  std::unordered_map<uint64_t, size_t> progress_slot_[2];
  bool closed_ = false;
  bool holding_ = false;    // between HoldWake and ReleaseWake
  bool wake_owed_ = false;  // a batch began while holding
  WakeFunction wake_;
  void* wake_context_;
};

}  // namespace urlsession
