// Paces one transfer in one direction to a rate: the engine asks Ready() before it lets bytes
// move, reports what moved with Consumed(), and while not ready waits until ReadyAt() (the curl
// engine pauses the easy handle, the Apple model suspends the NSURLSessionTask). A token bucket
// kept as one moment: `due_` is when the bytes moved so far would have finished at the rate, so
// the achieved rate is the rate, whatever size the pieces come in. Idle time earns at most
// kCredit of early bytes, which also absorbs a late wake-up. The clock is injected (tests script
// it). Not thread-safe: the owner's thread only (curl engine thread, Apple delegate queue).
#pragma once

#include <chrono>
#include <cstdint>

namespace urlsession {

class SpeedPacer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kCredit{100};

  // 0: unlimited. A change keeps what is owed, in bytes, and repays it at the new rate: a lower
  // limit takes effect on the next piece, a higher one shortens the current wait.
  void SetRate(int64_t bytesPerSecond, Clock::time_point now) {
    if (bytesPerSecond < 0) bytesPerSecond = 0;
    if (bytesPerSecond == rate_) return;
    if (rate_ > 0 && bytesPerSecond > 0 && due_ > now) {
      auto owedNs = std::chrono::duration_cast<std::chrono::nanoseconds>(due_ - now).count();
      due_ = now + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(owedNs) * rate_ / bytesPerSecond));
    } else {
      due_ = now;
    }
    rate_ = bytesPerSecond;
  }
  int64_t rate() const { return rate_; }
  bool Limited() const { return rate_ > 0; }
  bool Ready(Clock::time_point now) const { return rate_ == 0 || now >= due_; }
  // When bytes may move again (meaningful while Limited()).
  Clock::time_point ReadyAt() const { return due_; }
  void Consumed(int64_t bytes, Clock::time_point now) {
    if (rate_ == 0 || bytes <= 0) return;
    Clock::time_point start = due_ > now - kCredit ? due_ : now - kCredit;
    due_ = start + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(bytes) * 1e9 / rate_));
  }

 private:
  int64_t rate_ = 0;
  Clock::time_point due_{};
};

}  // namespace urlsession
