// Sessions a test file creates: push them into the list this returns, and every one still
// active is invalidated (its tasks cancelled) after each test, whatever the test did.
import { afterEach } from 'vitest';
import * as URLSession from '../../lib/index';

export function liveSessions(): URLSession.Session[] {
  const sessions: URLSession.Session[] = [];
  afterEach(() => {
    for (const s of sessions.splice(0)) if (s.state === 'active') s.invalidateAndCancel();
  });
  return sessions;
}

/** Makes plain sessions with `options`, each invalidated after its test (liveSessions). */
export function sessionMaker(options: URLSession.SessionConfigurationOptions = {}): () => URLSession.Session {
  const live = liveSessions();
  return () => {
    const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration(options) });
    live.push(s);
    return s;
  };
}
