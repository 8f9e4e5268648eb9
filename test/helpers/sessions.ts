// Sessions a test file creates: push them into the list this returns, and every one still
// active is invalidated (its tasks cancelled) after each test, whatever the test did.
import { afterEach } from 'vitest';
import type * as URLSession from '../../lib/index';

export function liveSessions(): URLSession.Session[] {
  const sessions: URLSession.Session[] = [];
  afterEach(() => {
    for (const s of sessions.splice(0)) if (s.state === 'active') s.invalidateAndCancel();
  });
  return sessions;
}
