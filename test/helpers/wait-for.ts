// Synchronisation for tests: wait for a condition to hold, never for a length of time.
import { setTimeout as delay } from 'node:timers/promises';

/** Polls `condition` every 20 ms until it holds; throws `what` at the deadline. */
export async function waitFor(what: string, condition: () => boolean, deadlineMs = 15_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/**
 * Waits until `value()` has not changed for 500 ms: the absence of progress, watched over a
 * window (a producer no longer pulled, a server no longer writing). Throws `what` at the deadline.
 */
export async function waitForStill(what: string, value: () => number, deadlineMs = 15_000): Promise<void> {
  let last = -1;
  let since = Date.now();
  await waitFor(
    what,
    () => {
      if (value() !== last) {
        last = value();
        since = Date.now();
      }
      return Date.now() - since >= 500;
    },
    deadlineMs,
  );
}
