// Item 19 of issue 14: NSURLSession cannot follow more than 20 redirects, so a session on the
// Apple engine refuses a larger maximumRedirects at creation instead of silently capping it.
// The binding is replaced by a stand-in whose engine is 'apple': this is lib/'s decision, and
// it must not depend on running on a Mac.
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../lib/binding', () => {
  class NativeSession {
    readonly usesSystemBackground = false;
    close(): void {}
    finishTasksAndInvalidate(): void {}
    invalidateAndCancel(): void {}
  }
  return { binding: { engine: 'apple', NativeSession } };
});

describe('Apple engine limits (lib/)', () => {
  it('maximumRedirects above 20 is refused with a coded error; 20 is accepted', async () => {
    const U = await import('../../lib/index');
    expect(U.engine).toBe('apple');
    const tooMany = U.createSessionConfiguration({ maximumRedirects: 21, persistent: false });
    expect(() => U.createURLSession(tooMany)).toThrow(expect.objectContaining({ code: U.ErrorCodes.INVALID_ARGUMENT }));
    const session = U.createURLSession(U.createSessionConfiguration({ maximumRedirects: 20, persistent: false }));
    expect(session.configuration.maximumRedirects).toBe(20);
    session.invalidateAndCancel();
  });
});
