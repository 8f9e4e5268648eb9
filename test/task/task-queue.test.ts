// maximumConcurrentTasks and priority (issue 18): tasks beyond the limit wait, visible as
// 'waiting' in getAllTasks(), and start by priority (then in order) as running ones end; a
// waiting task can be cancelled, suspended and resumed, and invalidation treats it as a task.
// Against a real HTTP/1.1 server on 127.0.0.1 that counts requests in flight.
import { describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { liveSessions } from '../helpers/sessions';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';
import { waitFor } from '../helpers/wait-for';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

const server = useTaskServer();
const live = liveSessions();
let counter = 0;

function session(options: URLSession.SessionConfigurationOptions = {}): URLSession.Session {
  const configuration = URLSession.createSessionConfiguration({
    identifier: `queue.${process.pid}.${++counter}`,
    downloadDirectory: tempDir('urlsession-queue-'),
    ...options,
  });
  const s = URLSession.createSession({ configuration });
  live.push(s);
  return s;
}

/** Every sessioncompleted of `s`, in order, until `count` have come. */
function completions(s: URLSession.Session, count: number): Promise<URLSession.SessionCompletedEvent[]> {
  const seen: URLSession.SessionCompletedEvent[] = [];
  return new Promise((resolve) =>
    s.on('sessioncompleted', (e) => {
      seen.push(e);
      if (seen.length === count) resolve(seen);
    }),
  );
}

/** The order in which the server saw requests whose URL carries `key=<prefix>…`. */
function seenOrder(prefix: string): string[] {
  return server.seen.map((r) => /key=([^&]+)/.exec(r.url)?.[1] ?? '').filter((key) => key.startsWith(prefix));
}

const slow = (key: string): string => `${server.base}/file?size=600000&delay=5&chunk=16384&key=${key}`;

describe('maximumConcurrentTasks', () => {
  it('never runs more than the limit at once; the rest wait, shown as waiting, and all complete', async () => {
    const s = session({ maximumConcurrentTasks: 2 });
    // Tasks seen moving bytes and not yet completed, as the session's own events tell it (the
    // server's view lags: it counts a response until its end, after the client has every byte).
    const moving = new Set<number>();
    let peak = 0;
    s.on('downloadprogress', (e) => {
      moving.add(e.taskIdentifier);
      peak = Math.max(peak, moving.size);
    });
    s.on('sessioncompleted', (e) => moving.delete(e.taskIdentifier));
    const done = completions(s, 6);
    const ids = Array.from({ length: 6 }, (_, i) => s.downloadTask({ url: slow(`limit-${i}`) }));
    const states = (await s.getAllTasks()).map((t) => [t.taskIdentifier, t.state]);
    expect(states.filter(([, state]) => state === 'waiting').map(([id]) => id)).toEqual(ids.slice(2));
    const events = await done;
    expect(events.every((e) => e.success)).toBe(true);
    expect(peak).toBe(2);
    expect(seenOrder('limit-')).toEqual(ids.map((_, i) => `limit-${i}`));
  });

  it('waiting tasks start by priority, highest first, then in the order they were made', async () => {
    const s = session({ maximumConcurrentTasks: 1 });
    const done = completions(s, 6);
    s.downloadTask({ url: slow('prio-blocker') });
    const priorities = { a: 0.1, b: 0.9, c: 0.5, d: 0.9, e: 0.2 };
    for (const [name, priority] of Object.entries(priorities)) {
      s.dataTask({ url: `${server.base}/file?size=100&key=prio-${name}`, priority });
    }
    await done;
    expect(seenOrder('prio-')).toEqual(['prio-blocker', 'prio-b', 'prio-d', 'prio-c', 'prio-e', 'prio-a']);
  });

  it("without a session limit, the engine's per-host queue takes tasks by priority too", async () => {
    const s = session({ HTTPMaximumConnectionsPerHost: 1 });
    const done = completions(s, 4);
    // The engine orders each batch of starts too: the blocker gets the highest priority so that it
    // is first however the starts fall into batches.
    s.downloadTask({ url: slow('host-blocker'), priority: 1 });
    for (const [name, priority] of Object.entries({ low: 0.2, high: 0.8, mid: 0.5 })) {
      s.dataTask({ url: `${server.base}/file?size=100&key=host-${name}`, priority });
    }
    expect((await s.getAllTasks()).every((t) => t.state === 'running')).toBe(true); // none waits in JS
    await done;
    expect(seenOrder('host-')).toEqual(['host-blocker', 'host-high', 'host-mid', 'host-low']);
  });

  it('the promise API queues too, and a cancelled waiting task never reaches the server', async () => {
    const s = session({ maximumConcurrentTasks: 1 });
    const blocker = s.download(slow('promise-blocker'));
    const dropped = s.request(`${server.base}/file?size=100&key=promise-dropped`);
    const kept = s.download(`${server.base}/file?size=5000&seed=4&key=promise-kept`, { priority: 1 });
    expect((await s.getAllTasks()).find((t) => t.taskIdentifier === dropped.taskIdentifier)?.state).toBe('waiting');
    dropped.cancel();
    await expect(dropped.done).rejects.toMatchObject({ name: 'AbortError', errorCode: -999 });
    const result = await kept.done;
    expect(createHash('sha256').update(fs.readFileSync(result.location)).digest('hex')).toBe(
      sha256(makeBytes(5000, 4)),
    );
    await blocker.done;
    expect(seenOrder('promise-')).toEqual(['promise-blocker', 'promise-kept']);
  });

  it('a task suspended while it waits starts suspended, and runs once resumed', async () => {
    const s = session({ maximumConcurrentTasks: 1 });
    const blocker = s.download(slow('suspend-blocker'));
    const waiting = s.download(`${server.base}/file?size=20000&seed=6&key=suspend-waiting`);
    waiting.suspend();
    expect((await s.getAllTasks()).find((t) => t.taskIdentifier === waiting.taskIdentifier)?.state).toBe('waiting');
    await blocker.done;
    await waitFor(
      'the waiting task to be admitted, suspended',
      () => waiting.state === 'suspended' && seenOrder('suspend-').length >= 1,
    );
    const info = (await s.getAllTasks()).find((t) => t.taskIdentifier === waiting.taskIdentifier);
    expect(info?.state).toBe('suspended');
    waiting.resume();
    const result = await waiting.done;
    expect(createHash('sha256').update(fs.readFileSync(result.location)).digest('hex')).toBe(
      sha256(makeBytes(20000, 6)),
    );
  });

  it('a speed limit set while a Titanium task waits is the one it runs with', async () => {
    const s = session({ maximumConcurrentTasks: 1 });
    const size = 1_500_000;
    const rates = new Map<number, number>();
    const started = new Map<number, number>();
    s.on('downloadprogress', (e) => {
      if (!started.has(e.taskIdentifier)) started.set(e.taskIdentifier, performance.now());
    });
    const done = new Promise<void>((resolve) =>
      s.on('sessioncompleted', (e) => {
        rates.set(e.taskIdentifier, (size * 1000) / (performance.now() - (started.get(e.taskIdentifier) ?? 0)));
        if (rates.size === 2) resolve();
      }),
    );
    const free = s.downloadTask({ url: `${server.base}/file?size=${size}&seed=8` });
    const limited = s.downloadTask({ url: `${server.base}/file?size=${size}&seed=9` });
    expect((await s.getAllTasks()).find((t) => t.taskIdentifier === limited)?.state).toBe('waiting');
    expect(s.setTaskSpeedLimit(limited, 500_000)).toBe(true);
    await done;
    // Compared within the test: the limited one near its limit, the free one far above it.
    expect(rates.get(limited)).toBeLessThan(1_000_000);
    expect(rates.get(free)).toBeGreaterThan(2_500_000);
  });

  it('finishTasksAndInvalidate lets waiting tasks run; invalidateAndCancel cancels them', async () => {
    const finishing = session({ maximumConcurrentTasks: 1 });
    const finished = completions(finishing, 3);
    for (let i = 0; i < 3; i++) finishing.dataTask({ url: `${server.base}/file?size=2000&key=finish-${i}` });
    expect((await finishing.getAllTasks()).map((t) => t.state)).toEqual(['running', 'waiting', 'waiting']);
    const invalidated = new Promise((resolve) => finishing.once('invalidated', resolve));
    finishing.finishTasksAndInvalidate();
    expect((await finished).map((e) => e.success)).toEqual([true, true, true]);
    await invalidated;

    const cancelling = session({ maximumConcurrentTasks: 1 });
    const cancelled = completions(cancelling, 3);
    const first = cancelling.downloadTask({ url: slow('cancel-0') });
    cancelling.dataTask({ url: `${server.base}/file?size=100&key=cancel-1` });
    cancelling.dataTask({ url: `${server.base}/file?size=100&key=cancel-2` });
    expect((await cancelling.getAllTasks()).map((t) => t.state)).toEqual(['running', 'waiting', 'waiting']);
    cancelling.invalidateAndCancel();
    const events = await cancelled;
    expect(events.every((e) => !e.success && e.errorCode === -999)).toBe(true);
    expect(events.map((e) => e.taskIdentifier)).toContain(first);
    expect(seenOrder('cancel-').filter((key) => key !== 'cancel-0')).toEqual([]);
  });

  it('bad values are refused with a RangeError or TypeError and a stable code', () => {
    const codeOf = (call: () => unknown): string | undefined => {
      try {
        call();
      } catch (error) {
        return `${(error as Error).name}:${(error as { code?: string }).code}`;
      }
      return undefined;
    };
    for (const bad of [-1, 1.5]) {
      expect(codeOf(() => URLSession.createSessionConfiguration({ maximumConcurrentTasks: bad }))).toBe(
        'RangeError:ERR_URLSESSION_OUT_OF_RANGE',
      );
    }
    const s = session();
    for (const bad of [-0.1, 1.01]) {
      expect(codeOf(() => s.downloadTask({ url: `${server.base}/file`, priority: bad }))).toBe(
        'RangeError:ERR_URLSESSION_OUT_OF_RANGE',
      );
      expect(codeOf(() => s.download(`${server.base}/file`, { priority: bad }))).toBe(
        'RangeError:ERR_URLSESSION_OUT_OF_RANGE',
      );
    }
    expect(codeOf(() => s.dataTask({ url: `${server.base}/file`, priority: 'high' as unknown as number }))).toBe(
      'TypeError:ERR_URLSESSION_INVALID_ARGUMENT',
    );
  });
});
