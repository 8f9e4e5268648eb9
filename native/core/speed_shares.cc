// Water-filling of a session's speed budget (speed_shares.h). Any thread: no state.
#include "core/speed_shares.h"

#include <algorithm>
#include <numeric>

namespace urlsession {

std::vector<int64_t> ShareSpeed(int64_t sessionLimit, const std::vector<int64_t>& ownLimits) {
  std::vector<int64_t> rates(ownLimits);
  if (sessionLimit <= 0 || ownLimits.empty()) return rates;
  // Smallest own limit first; "none" counts as larger than any limit.
  auto key = [&](size_t i) { return ownLimits[i] > 0 ? ownLimits[i] : INT64_MAX; };
  std::vector<size_t> order(ownLimits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  int64_t left = sessionLimit;
  size_t k = 0;
  for (; k < order.size(); ++k) {
    int64_t fair = left / static_cast<int64_t>(order.size() - k);
    if (key(order[k]) > fair) break;  // this one and every later one take an equal share
    rates[order[k]] = ownLimits[order[k]];
    left -= ownLimits[order[k]];
  }
  size_t sharing = order.size() - k;
  for (size_t j = k; j < order.size(); ++j) {
    // The remainder's odd bytes go to the first ones, so the shares add up to the budget.
    int64_t share = left / static_cast<int64_t>(sharing) +
                    (static_cast<int64_t>(j - k) < left % static_cast<int64_t>(sharing) ? 1 : 0);
    rates[order[j]] = std::max<int64_t>(1, share);
  }
  return rates;
}

}  // namespace urlsession
