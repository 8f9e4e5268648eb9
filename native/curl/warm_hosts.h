// The hosts whose idle connections libcurl's pool must keep: those with a running task, and those
// whose last task ended less than kWarm ago. HostAdmission tells it when a host's running count
// leaves and returns to zero; the engine turns the count into CURLMOPT_MAXCONNECTS.
//
// Why a time and not a number of hosts: between a finished task and the next one its client
// starts from the completion, the host has no running task, and with enough busy hosts the JS
// thread may lag behind several of them at once. kWarm leaves that lag ample room and stays well
// under libcurl's own idle limit (CURLOPT_MAXAGE_CONN, 118 s by default), so a session that
// visits many hosts once each does not keep all their connections open that long.
// Engine thread only.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace urlsession {

class WarmHosts {
 public:
  using Clock = std::chrono::steady_clock;

  // The host's running count went from zero to one.
  void Busy(const std::string& host) { idle_since_[host] = Clock::time_point::max(); }
  // The host's last running task ended.
  void Idle(const std::string& host, Clock::time_point now) {
    idle_since_[host] = now;
    next_expiry_ = std::min(next_expiry_, now + kWarm);
  }
  // Busy hosts plus those idle for less than kWarm. Expired hosts are looked for at most once per
  // kScanEvery, so a host may count for up to that much longer.
  size_t Count(Clock::time_point now) {
    if (now >= next_expiry_) Expire(now);
    return idle_since_.size();
  }

 private:
  static constexpr Clock::duration kWarm = std::chrono::seconds(10);
  static constexpr Clock::duration kScanEvery = std::chrono::seconds(1);

  void Expire(Clock::time_point now) {
    next_expiry_ = Clock::time_point::max();
    for (auto it = idle_since_.begin(); it != idle_since_.end();) {
      if (it->second != Clock::time_point::max() && it->second + kWarm <= now) {
        it = idle_since_.erase(it);
        continue;
      }
      if (it->second != Clock::time_point::max()) next_expiry_ = std::min(next_expiry_, it->second + kWarm);
      ++it;
    }
    if (next_expiry_ != Clock::time_point::max()) next_expiry_ = std::max(next_expiry_, now + kScanEvery);
  }

  // Busy hosts: time_point::max(); idle ones: when their last running task ended.
  std::unordered_map<std::string, Clock::time_point> idle_since_;
  Clock::time_point next_expiry_ = Clock::time_point::max();  // the earliest moment a host may expire
};

}  // namespace urlsession
