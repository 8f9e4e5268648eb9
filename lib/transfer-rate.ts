// The live rate and time remaining of one transfer direction, from its progress events: bytes
// per second over the last few seconds, counting only bytes that moved while it was measured
// (a resume's kept bytes, reported in its first progress event, moved at no speed at all). Pure
// bookkeeping on the JS thread; the clock is passed in so that the event router reads it once.

/** The rate is smoothed over about this much of the recent past. */
const WINDOW_MS = 3_000;
/** A rate from less time than this is the first bytes' arrival, not the link: none is given. */
const SETTLE_MS = 250;

export interface RateSample {
  /** Bytes per second over the recent past; null until it has been measured long enough. */
  bytesPerSecond: number | null;
  /** Seconds until `expected` is reached at that rate; null when the size or the rate is unknown. */
  secondsRemaining: number | null;
}

export class TransferRate {
  // Samples of (time, bytes moved since the first event), oldest first; the first one older than
  // the window is kept as the window's start.
  #times: number[] = [];
  #moved: number[] = [];
  #total = 0;

  /**
   * One progress event: `delta` bytes moved since the previous one, `total` and `expected` the
   * transfer's running total and size (0 when unknown), `nowMs` a monotonic clock.
   */
  sample(delta: number, total: number, expected: number, nowMs: number): RateSample {
    // The rate is a difference between samples, so the first event's bytes (which may be a
    // resume's kept ones) never count: they are in every sample alike.
    const moved = this.#total + delta;
    this.#total = moved;
    this.#times.push(nowMs);
    this.#moved.push(moved);
    let start = 0;
    while (start + 1 < this.#times.length && nowMs - this.#times[start + 1] >= WINDOW_MS) start++;
    if (start > 0) {
      this.#times.splice(0, start);
      this.#moved.splice(0, start);
    }
    const spanMs = nowMs - this.#times[0];
    if (spanMs < SETTLE_MS)
      return { bytesPerSecond: null, secondsRemaining: expected > 0 && total >= expected ? 0 : null };
    const bytesPerSecond = ((moved - this.#moved[0]) * 1000) / spanMs;
    let secondsRemaining: number | null = null;
    if (expected > 0 && total >= expected) secondsRemaining = 0;
    else if (expected > 0 && bytesPerSecond > 0) secondsRemaining = (expected - total) / bytesPerSecond;
    return { bytesPerSecond, secondsRemaining };
  }
}
