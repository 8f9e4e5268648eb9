// What a promise rejected with, for tests that compare errors.
import { expect } from 'vitest';

/** What `promise` rejects with (a test failure if it fulfils). */
export async function rejection<T = TypeError>(promise: Promise<unknown>): Promise<T> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error as T,
  );
}
