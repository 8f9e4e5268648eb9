// Speed limits shared by a session's running transfers, one direction (download or upload) at a
// time: pure arithmetic, no clock and no state, used by both engines (the curl engine's
// RebalanceSpeeds, the Apple model's pacing) so that the two divide a budget the same way.
#pragma once

#include <cstdint>
#include <vector>

namespace urlsession {

// Each transfer's rate in bytes per second (0: unlimited), in the order of `ownLimits`.
// `sessionLimit` is the session's budget for the direction and each `ownLimits` entry a task's own
// limit, 0 meaning none. Without a session limit a transfer gets its own limit. With one the
// budget is water-filled: a transfer whose own limit is below an equal share keeps its own limit
// and leaves the rest to the others, which share what remains equally. A share is never below
// 1 byte per second (0 would mean unlimited).
std::vector<int64_t> ShareSpeed(int64_t sessionLimit, const std::vector<int64_t>& ownLimits);

}  // namespace urlsession
