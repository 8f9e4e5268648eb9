// The segment plan of a segmented download (native/core/segment_plan.cc): even splits, the
// minimum that keeps small files one segment, rebalancing by splitting the largest remaining
// range, collapse, and the text form the journal and resume data keep, with every inconsistent
// text refused. Cases of test/native/native_cases.h (PASS/FAIL per case). Driven by test/native/segment-plan.test.ts.
#include <cstdio>
#include <string>

#include "core/segment_plan.h"

#include "native_cases.h"

namespace {

using urlsession::SegmentPlan;
constexpr int64_t kMin = SegmentPlan::kMinimumSegment;

bool Eligible(int64_t) { return true; }

CASE(CountAndEven) {
  CHECK(SegmentPlan::CountFor(2 * kMin - 1, 4) == 1);  // smaller than twice the minimum: one
  CHECK(SegmentPlan::CountFor(2 * kMin, 4) == 2);
  CHECK(SegmentPlan::CountFor(3 * kMin + 5, 4) == 3);  // each segment keeps the minimum
  CHECK(SegmentPlan::CountFor(100 * kMin, 4) == 4);
  CHECK(SegmentPlan::CountFor(100 * kMin, 1) == 1);
  CHECK(SegmentPlan::CountFor(100 * kMin, 40) == SegmentPlan::kMaximumSegments);
  CHECK(SegmentPlan::CountFor(-1, 4) == 1);  // unknown length

  SegmentPlan plan = SegmentPlan::Even(10 * kMin + 3, 3);  // not divisible by 3
  CHECK(plan.segments().size() == 3);
  CHECK(plan.segments()[0].start == 0);
  CHECK(plan.segments()[0].end == plan.segments()[1].start);
  CHECK(plan.segments()[1].end == plan.segments()[2].start);
  CHECK(plan.segments()[2].end == 10 * kMin + 3);
  CHECK(plan.length() == 10 * kMin + 3);
  CHECK(plan.Written() == 0 && plan.ContiguousPrefix() == 0 && !plan.Complete());
}

CASE(AdvanceAndPrefix) {
  SegmentPlan plan = SegmentPlan::Even(4 * kMin, 2);
  CHECK(plan.Advance(0, 100) == 100);
  CHECK(plan.Advance(2 * kMin, 3 * kMin) == 2 * kMin);  // clipped at its end
  CHECK(plan.Advance(12345, 10) == 0);                  // no such segment
  CHECK(plan.Written() == 100 + 2 * kMin);
  CHECK(plan.ContiguousPrefix() == 100);  // the second segment is done, the first is not
  CHECK(plan.Advance(0, 2 * kMin) == 2 * kMin - 100);
  CHECK(plan.ContiguousPrefix() == 4 * kMin);
  CHECK(plan.Complete());
}

CASE(Rebalance) {
  SegmentPlan plan = SegmentPlan::Even(16 * kMin, 4);  // 4 MiB each
  plan.Advance(0, 4 * kMin);                           // the first finished
  plan.Advance(4 * kMin, 10);                          // the second barely started
  plan.Advance(8 * kMin, 3 * kMin);
  plan.Advance(12 * kMin, 3 * kMin);
  auto split = plan.ProposeSplit(Eligible);
  CHECK(split.has_value());
  if (!split) return;
  CHECK(split->donor == 4 * kMin);  // the largest remaining range
  CHECK(split->at == 4 * kMin + 10 + (4 * kMin - 10) / 2);
  CHECK(split->end == 8 * kMin);
  CHECK(plan.ApplySplit(*split));
  CHECK(plan.segments().size() == 5);
  CHECK(plan.Find(4 * kMin)->end == split->at);
  CHECK(plan.Find(split->at) != nullptr && plan.Find(split->at)->next == split->at);
  CHECK(plan.Find(split->at) != nullptr && plan.Find(split->at)->end == 8 * kMin);
  CHECK(!plan.ApplySplit(*split));  // the donor no longer ends there
  // A donor that wrote past the midpoint before the new request was answered keeps its range.
  SegmentPlan other = SegmentPlan::Even(8 * kMin, 2);
  auto late = other.ProposeSplit(Eligible);
  CHECK(late.has_value() && late->donor == 0);
  other.Advance(0, late->at + 1);
  CHECK(!other.ApplySplit(*late));
  CHECK(other.segments().size() == 2);
  // Not below twice the minimum; and only eligible segments donate.
  SegmentPlan small = SegmentPlan::Even(4 * kMin, 2);
  small.Advance(0, 1);
  small.Advance(2 * kMin, 1);
  CHECK(!small.ProposeSplit(Eligible).has_value());
  SegmentPlan picky = SegmentPlan::Even(8 * kMin, 2);
  auto second = picky.ProposeSplit([](int64_t start) { return start != 0; });
  CHECK(second.has_value() && second->donor == 4 * kMin);
}

CASE(CollapseKeepsFirst) {
  SegmentPlan plan = SegmentPlan::Even(6 * kMin, 3);
  plan.Advance(0, 77);
  plan.Advance(2 * kMin, 99);
  plan.Collapse();
  CHECK(plan.segments().size() == 1);
  CHECK(plan.segments()[0].start == 0 && plan.segments()[0].next == 77 && plan.segments()[0].end == 6 * kMin);
}

CASE(Text) {
  SegmentPlan plan = SegmentPlan::Even(6 * kMin, 3);
  plan.Advance(0, 5);
  plan.Advance(4 * kMin, kMin);
  std::string text = plan.ToString();
  CHECK(text == "0-5-2097152,2097152-2097152-4194304,4194304-5242880-6291456");
  SegmentPlan parsed;
  CHECK(SegmentPlan::Parse(text, 6 * kMin, &parsed));
  CHECK(parsed.ToString() == text);
  CHECK(SegmentPlan::Parse(text, -1, &parsed));
  CHECK(!SegmentPlan::Parse(text, 6 * kMin + 1, &parsed));  // another length
  const char* refused[] = {
      "",
      "1-1-2097152",                          // does not start at 0
      "0-0-2097152,2097153-2097153-4194304",  // gap
      "0-0-2097152,2097151-2097151-4194304",  // overlap
      "0-9-5",                                // next beyond end
      "0-0-0",                                // empty segment
      "0-0-2097152,2097152-2097151-4194304",  // next before start
      "0-0-2097152,",                         // trailing comma
      "0-0-2097152;",
      "0-0--2097152",
      "0-0-99999999999999999999",
      "0-0-100,100-100-200",  // more segments than a plan of 200 bytes can hold
      "a-b-c",
  };
  for (const char* bad : refused) {
    SegmentPlan out;
    bool ok = SegmentPlan::Parse(bad, -1, &out);
    if (ok) {
      native_cases::Failure() = std::string("a text Parse must refuse was accepted: ") + bad;
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) { return native_cases::RunCases(argc, argv); }
