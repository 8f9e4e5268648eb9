// Starting and stopping the servers tests make for themselves, on 127.0.0.1: by hand, or for a
// whole test file (useStarted).
import type * as http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

/** Listens on 127.0.0.1 at a free port; resolves with the base URL (`http://127.0.0.1:<port>`). */
export async function listenLocal(server: Server, scheme = 'http'): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes `server` and every connection it still holds. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * A server of one test file, started before its first test and closed after its last. The object
 * returned stands for the started server (reading it before beforeAll has run throws).
 */
export function useStarted<T extends { close(): Promise<void> }>(start: () => Promise<T>): T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(() => started?.close());
  return new Proxy({} as T, {
    get(_target, key) {
      if (started === undefined) throw new Error('the server starts in beforeAll');
      const value: unknown = Reflect.get(started, key);
      return typeof value === 'function' ? value.bind(started) : value;
    },
  });
}
