// Decides when an engine thread reports progress for one task: at most once per interval,
// always for the final value, and — for a value the interval held back — once the interval has
// passed even if no new bytes come (the owner asks again at HeldUntil(): a burst followed by a
// stall must not leave its last bytes unreported). Costs one clock read per call; no allocation.
// Not thread-safe: each task owns one and uses it on its engine thread (or delegate queue) only.
#pragma once

#include <chrono>
#include <cstdint>

namespace urlsession {

class ProgressThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ProgressThrottle(uint32_t intervalMs = 100) : interval_(std::chrono::milliseconds(intervalMs)) {}

  // True when `total` should be reported now. False for a total already reported, and for a new
  // one inside the interval: that one is held (Holding) until the owner asks again.
  bool ShouldReport(int64_t total, bool final, Clock::time_point now = Clock::now()) {
    if (total == last_total_) {
      held_ = false;
      return false;
    }
    if (!final && last_report_.time_since_epoch().count() != 0 && now - last_report_ < interval_) {
      held_ = true;
      return false;
    }
    last_report_ = now;
    last_total_ = total;
    held_ = false;
    return true;
  }

  // A total was held back by the interval and not reported since.
  bool Holding() const { return held_; }
  // When the held total may go out; Clock::time_point::max() when none is held.
  Clock::time_point HeldUntil() const { return held_ ? last_report_ + interval_ : Clock::time_point::max(); }

 private:
  Clock::duration interval_;
  Clock::time_point last_report_{};
  int64_t last_total_ = -1;
  bool held_ = false;
};

}  // namespace urlsession
