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
