#include "core/segment_plan.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace urlsession {
namespace {

// A decimal int64 of `text` from `*pos` up to `stop` (or the end); advances past it.
bool ReadNumber(const std::string& text, size_t* pos, char stop, int64_t* value) {
  size_t begin = *pos;
  size_t end = begin;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  if (end == begin || end - begin > 18) return false;  // no digits, or beyond what int64 surely holds
  if (end < text.size() ? text[end] != stop : stop != '\0') return false;
  *value = std::strtoll(text.c_str() + begin, nullptr, 10);
  *pos = end < text.size() ? end + 1 : end;
  return true;
}

}  // namespace

int SegmentPlan::CountFor(int64_t length, int wanted) {
  if (wanted <= 1 || length < 2 * kMinimumSegment) return 1;
  int64_t most = std::min<int64_t>(length / kMinimumSegment, kMaximumSegments);
  return static_cast<int>(std::min<int64_t>(wanted, most));
}

SegmentPlan SegmentPlan::Even(int64_t length, int count) {
  SegmentPlan plan;
  count = std::max(1, count);
  for (int i = 0; i < count; ++i) {
    int64_t start = length / count * i;
    int64_t end = i + 1 == count ? length : length / count * (i + 1);
    plan.segments_.push_back(Segment{start, start, end});
  }
  return plan;
}

bool SegmentPlan::Parse(const std::string& text, int64_t length, SegmentPlan* plan) {
  SegmentPlan parsed;
  size_t pos = 0;
  int64_t expected_start = 0;
  bool ended = false;  // the last segment was read (no comma after it)
  while (pos < text.size()) {
    Segment segment;
    if (!ReadNumber(text, &pos, '-', &segment.start) || !ReadNumber(text, &pos, '-', &segment.next)) return false;
    bool last = text.find(',', pos) == std::string::npos;
    if (!ReadNumber(text, &pos, last ? '\0' : ',', &segment.end)) return false;
    if (segment.start != expected_start || segment.end <= segment.start || segment.next < segment.start ||
        segment.next > segment.end) {
      return false;
    }
    expected_start = segment.end;
    parsed.segments_.push_back(segment);
    // Every segment is at least the minimum (CountFor, ProposeSplit), so a plan of a body this
    // long never holds more; the bound also keeps a corrupt text from growing without limit.
    if (static_cast<int64_t>(parsed.segments_.size()) > std::max<int64_t>(1, segment.end / kMinimumSegment)) {
      return false;
    }
    if (last) {
      ended = true;
      break;
    }
  }
  if (!ended || (length >= 0 && parsed.length() != length)) return false;
  *plan = std::move(parsed);
  return true;
}

std::string SegmentPlan::ToString() const {
  std::string text;
  for (const Segment& segment : segments_) {
    if (!text.empty()) text += ',';
    text += std::to_string(segment.start) + '-' + std::to_string(segment.next) + '-' + std::to_string(segment.end);
  }
  return text;
}

const Segment* SegmentPlan::Find(int64_t start) const {
  for (const Segment& segment : segments_) {
    if (segment.start == start) return &segment;
  }
  return nullptr;
}

int64_t SegmentPlan::Advance(int64_t start, int64_t bytes) {
  for (Segment& segment : segments_) {
    if (segment.start != start) continue;
    int64_t fits = std::clamp<int64_t>(segment.end - segment.next, 0, bytes);
    segment.next += fits;
    return fits;
  }
  return 0;
}

int64_t SegmentPlan::Written() const {
  int64_t total = 0;
  for (const Segment& segment : segments_) total += segment.next - segment.start;
  return total;
}

int64_t SegmentPlan::ContiguousPrefix() const {
  int64_t prefix = 0;
  for (const Segment& segment : segments_) {
    prefix = segment.next;
    if (!segment.Done()) break;
  }
  return prefix;
}

bool SegmentPlan::Complete() const {
  return std::all_of(segments_.begin(), segments_.end(), [](const Segment& s) { return s.Done(); });
}

bool SegmentPlan::ApplySplit(const Split& split) {
  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& donor = segments_[i];
    if (donor.start != split.donor) continue;
    if (donor.end != split.end || donor.next >= split.at || split.at >= split.end) return false;
    donor.end = split.at;
    segments_.insert(segments_.begin() + static_cast<std::ptrdiff_t>(i) + 1, Segment{split.at, split.at, split.end});
    return true;
  }
  return false;
}

void SegmentPlan::Collapse() {
  if (segments_.empty()) return;
  Segment whole{0, segments_.front().next, length()};
  segments_.assign(1, whole);
}

}  // namespace urlsession
