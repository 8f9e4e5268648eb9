// Decides when an engine thread reports progress for one task: at most once per interval,
// and always for the final value. Costs one clock read per call; no allocation.
// Not thread-safe: each task owns one and uses it on its engine thread only.
#pragma once

#include <chrono>
#include <cstdint>

namespace urlsession {

class ProgressThrottle {
 public:
  explicit ProgressThrottle(uint32_t intervalMs = 100) : interval_(std::chrono::milliseconds(intervalMs)) {}

  // True when `total` should be reported now.
  bool ShouldReport(int64_t total, bool final) {
    if (total == last_total_) return false;
    auto now = std::chrono::steady_clock::now();
    if (!final && last_report_.time_since_epoch().count() != 0 && now - last_report_ < interval_) return false;
    last_report_ = now;
    last_total_ = total;
    return true;
  }

 private:
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point last_report_{};
  int64_t last_total_ = -1;
};

}  // namespace urlsession
