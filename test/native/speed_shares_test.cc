// The speed-limit arithmetic both engines use (native/core/speed_shares.h, speed_pacer.h), with a
// scripted clock. Run by test/native/speed-shares.test.ts. Prints "PASS <case>" or
// "FAIL <case>: <line>: <condition>" per case; exits 1 when any failed. One thread.
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "native_cases.h"
#include "core/speed_pacer.h"
#include "core/speed_shares.h"

using namespace urlsession;
using std::chrono::milliseconds;

namespace {

using V = std::vector<int64_t>;

CASE(no_session_limit_keeps_own_limits) { CHECK((ShareSpeed(0, {0, 500, 0}) == V{0, 500, 0})); }

CASE(session_limit_split_equally) {
  CHECK((ShareSpeed(1000, {0, 0}) == V{500, 500}));
  CHECK((ShareSpeed(1000, {0}) == V{1000}));
  // The odd bytes are handed out, so the shares add up to the budget.
  V three = ShareSpeed(1000, {0, 0, 0});
  CHECK(three[0] + three[1] + three[2] == 1000);
  CHECK(three[0] >= 333 && three[0] <= 334 && three[2] >= 333 && three[2] <= 334);
}

CASE(water_filling_gives_unused_share_to_others) {
  // The capped transfer keeps 100; the other two share the remaining 900.
  CHECK((ShareSpeed(1000, {0, 100, 0}) == V{450, 100, 450}));
  // Two capped below their share, one above it: the large one gets what the small ones leave.
  CHECK((ShareSpeed(900, {100, 5000, 200}) == V{100, 600, 200}));
  // An own limit above the equal share is cut to the share.
  CHECK((ShareSpeed(1000, {800, 800}) == V{500, 500}));
  // Every own limit below the budget: the budget is not handed out beyond them.
  CHECK((ShareSpeed(1000, {100, 200}) == V{100, 200}));
}

CASE(share_never_means_unlimited) {
  V tiny = ShareSpeed(1, {0, 0, 0});
  for (int64_t rate : tiny) CHECK(rate >= 1);
}

CASE(empty_list) { CHECK(ShareSpeed(1000, {}).empty()); }

// Feeds pieces of `piece` bytes whenever the pacer is ready, advancing the clock 1 ms at a time,
// for `ms`; returns the bytes moved.
int64_t Drive(SpeedPacer& pacer, SpeedPacer::Clock::time_point& now, int64_t piece, int ms) {
  int64_t moved = 0;
  for (int i = 0; i < ms; ++i) {
    while (pacer.Ready(now)) {
      pacer.Consumed(piece, now);
      moved += piece;
    }
    now += milliseconds(1);
  }
  return moved;
}

CASE(pacer_holds_the_rate) {
  SpeedPacer pacer;
  auto now = SpeedPacer::Clock::time_point() + std::chrono::hours(1);
  pacer.SetRate(1'000'000, now);
  int64_t moved = Drive(pacer, now, 16'384, 10'000);
  // 10 s at 1 MB/s, plus at most the credit and one piece.
  CHECK(moved >= 9'900'000 && moved <= 10'000'000 + 100'000 + 16'384);
  // Big pieces (libcurl's largest buffer) average out the same.
  SpeedPacer big;
  big.SetRate(1'000'000, now);
  moved = Drive(big, now, 524'288, 10'000);
  CHECK(moved >= 9'400'000 && moved <= 10'000'000 + 524'288 + 100'000);
}

CASE(pacer_unlimited_is_always_ready) {
  SpeedPacer pacer;
  auto now = SpeedPacer::Clock::time_point() + std::chrono::hours(1);
  CHECK(!pacer.Limited());
  pacer.Consumed(1 << 30, now);
  CHECK(pacer.Ready(now));
}

CASE(pacer_lower_limit_takes_effect_at_once) {
  SpeedPacer pacer;
  auto now = SpeedPacer::Clock::time_point() + std::chrono::hours(1);
  pacer.SetRate(1'000'000, now);
  Drive(pacer, now, 10'000, 1'000);
  pacer.SetRate(100'000, now);
  int64_t moved = Drive(pacer, now, 10'000, 2'000);
  // 2 s at 100 kB/s; what was owed at the old rate is repaid at the new one (at most one piece).
  CHECK(moved >= 180'000 && moved <= 220'000);
}

CASE(pacer_higher_limit_shortens_the_wait) {
  SpeedPacer pacer;
  auto now = SpeedPacer::Clock::time_point() + std::chrono::hours(1);
  pacer.SetRate(1'000, now);
  pacer.Consumed(500'000, now);  // one large piece: 500 s owed at 1 kB/s
  CHECK(!pacer.Ready(now + milliseconds(1'000)));
  pacer.SetRate(1'000'000, now);  // ... and half a second at 1 MB/s
  CHECK(pacer.Ready(now + milliseconds(501)));
  CHECK(!pacer.Ready(now + milliseconds(300)));
}

CASE(pacer_idle_credit_is_bounded) {
  SpeedPacer pacer;
  auto now = SpeedPacer::Clock::time_point() + std::chrono::hours(1);
  pacer.SetRate(1'000'000, now);
  now += std::chrono::seconds(60);  // a minute idle earns only kCredit
  int64_t burst = 0;
  while (pacer.Ready(now)) {
    pacer.Consumed(1'000, now);
    burst += 1'000;
  }
  CHECK(burst >= 100'000 && burst <= 101'000);
}

}  // namespace

int main(int argc, char** argv) { return native_cases::RunCases(argc, argv); }
