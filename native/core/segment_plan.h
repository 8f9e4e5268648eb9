// The byte ranges of one segmented download (issue 18): how a body of known length is split
// into segments, what each has written, how a segment that finished early takes over half of
// the largest remaining range (rebalancing, as aria2 does), and the plan as text for the journal
// and resume data. Pure logic, no I/O; engine-agnostic. One plan per download, used on the
// thread of the engine that runs it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace urlsession {

// Bytes [start, end) of the body; [start, next) are written. A segment is named by its start,
// which never changes (indexes do, when a split inserts one).
struct Segment {
  int64_t start = 0;
  int64_t next = 0;
  int64_t end = 0;
  bool Done() const { return next >= end; }
};

class SegmentPlan {
 public:
  // No segment is planned smaller than this, so small files stay one request, and a range is
  // split again only while at least twice this remains of it.
  static constexpr int64_t kMinimumSegment = 1 << 20;
  static constexpr int kMaximumSegments = 16;
  // What the `segments: 'auto'` option asks for where ranges allow.
  static constexpr int kAutoSegments = 4;

  // How many segments a body of `length` bytes gets when `wanted` are asked for: 1 (no
  // segmentation) below twice the minimum, never more than leave each segment the minimum.
  static int CountFor(int64_t length, int wanted);
  // `count` segments of (nearly) equal size covering [0, length), in order.
  static SegmentPlan Even(int64_t length, int count);
  // The text of ToString(). Refuses (false) anything inconsistent: empty, not starting at 0,
  // gaps or overlaps, next outside [start, end], an empty segment, more segments than a plan
  // can reach, or a last end other than `length` (when `length` >= 0).
  static bool Parse(const std::string& text, int64_t length, SegmentPlan* plan);
  // "start-next-end,start-next-end,..." in order of start.
  std::string ToString() const;

  const std::vector<Segment>& segments() const { return segments_; }
  bool empty() const { return segments_.empty(); }
  int64_t length() const { return segments_.empty() ? 0 : segments_.back().end; }
  // The segment starting at `start`, or nullptr.
  const Segment* Find(int64_t start) const;
  // Accepts up to `bytes` at the segment's next offset: returns how many fit before its end
  // (those it now counts as written); 0 for an unknown segment.
  int64_t Advance(int64_t start, int64_t bytes);
  // Bytes written over every segment (what progress reports).
  int64_t Written() const;
  // Bytes written from offset 0 without a gap (what a resume without the plan may keep).
  int64_t ContiguousPrefix() const;
  bool Complete() const;

  // Rebalancing: the unfinished segment with the most left to write among those `eligible`
  // accepts (by start), when at least twice the minimum is left: a new segment would take
  // [at, end) of it, `at` the midpoint of what is left.
  struct Split {
    int64_t donor = 0;  // the donor's start
    int64_t at = 0;
    int64_t end = 0;  // the donor's end when proposed
  };
  template <typename Eligible>
  std::optional<Split> ProposeSplit(Eligible eligible) const {
    const Segment* best = nullptr;
    for (const Segment& segment : segments_) {
      if (segment.Done() || !eligible(segment.start)) continue;
      if (best == nullptr || segment.end - segment.next > best->end - best->next) best = &segment;
    }
    if (best == nullptr || best->end - best->next < 2 * kMinimumSegment) return std::nullopt;
    return Split{best->start, best->next + (best->end - best->next) / 2, best->end};
  }
  // The new segment's request was answered as it must be: the donor now ends at `at` and the
  // segment [at, end) follows it. False (nothing changes) when the donor has written past `at`
  // meanwhile or no longer ends at `end`: the new request is then not needed.
  bool ApplySplit(const Split& split);
  // The body cannot be fetched in ranges after all: one segment from 0, continuing the first
  // segment's bytes, to the end (the other segments' bytes are written again by it).
  void Collapse();

 private:
  std::vector<Segment> segments_;
};

}  // namespace urlsession
