// A segmented download's plan as the engine writes it (native/core/segment_plan.h ToString:
// "start-next-end,..." in order of start, [start, next) of each segment written), read back on
// the JS side where resume data must decide whether to trust it. The rules are
// SegmentPlan::Parse's: anything it would refuse is refused here too. Pure logic; JS thread.

/** One segment: bytes [start, end) of the body, [start, next) of them written. */
export interface PlannedSegment {
  start: number;
  next: number;
  end: number;
}

// SegmentPlan::kMinimumSegment: no plan holds more segments than leave each this many bytes.
const MINIMUM_SEGMENT = 1 << 20;
const SEGMENT = /^(\d{1,18})-(\d{1,18})-(\d{1,18})$/;

/**
 * The plan's segments, or undefined for anything inconsistent: empty, not starting at 0, gaps or
 * overlaps, next outside [start, end], an empty segment, or more segments than a plan can reach.
 */
export function parseSegmentPlan(text: string): PlannedSegment[] | undefined {
  if (text === '') return undefined;
  const segments: PlannedSegment[] = [];
  let expectedStart = 0;
  for (const part of text.split(',')) {
    const match = SEGMENT.exec(part);
    if (match === null) return undefined;
    const [start, next, end] = match.slice(1).map(Number);
    if (![start, next, end].every(Number.isSafeInteger)) return undefined;
    if (start !== expectedStart || end <= start || next < start || next > end) return undefined;
    segments.push({ start, next, end });
    if (segments.length > Math.max(1, Math.floor(end / MINIMUM_SEGMENT))) return undefined;
    expectedStart = end;
  }
  return segments;
}

/** Bytes written from offset 0 without a gap (SegmentPlan::ContiguousPrefix). */
export function contiguousPrefix(segments: PlannedSegment[]): number {
  let prefix = 0;
  for (const segment of segments) {
    prefix = segment.next;
    if (segment.next < segment.end) break;
  }
  return prefix;
}
