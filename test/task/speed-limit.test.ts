// Speed limits (issue 18): maximumBytesPerSecond per task and per session, downloads and uploads,
// changed while running with task.setSpeedLimit / session.setSpeedLimit / setTaskSpeedLimit,
// and the coded errors of bad values. Against the real task server on 127.0.0.1. Every timing
// check compares runs made in the same test (a limited transfer against an unlimited one, or a
// transfer against itself before and after a change), never our speed against a fixed clock.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { liveSessions } from '../helpers/sessions';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';
import { waitFor } from '../helpers/wait-for';

const server = useTaskServer();
const live = liveSessions();

const LIMIT = 1_000_000;

function session(options: URLSession.SessionConfigurationOptions = {}): URLSession.Session {
  const configuration = URLSession.createSessionConfiguration({
    downloadDirectory: tempDir('urlsession-speed-'),
    ...options,
  });
  const s = URLSession.createSession({ configuration });
  live.push(s);
  return s;
}

/** Bytes per second of one promise-API transfer, start to `done`; and the file's sha256. */
async function timedDownload(
  s: URLSession.Session,
  size: number,
  seed: number,
  options: URLSession.DownloadOptions = {},
): Promise<{ rate: number; sha: string }> {
  const started = performance.now();
  const result = await s.download(`${server.base}/file?size=${size}&seed=${seed}`, options).done;
  const rate = (size * 1000) / (performance.now() - started);
  return { rate, sha: sha256(fs.readFileSync(result.location)) };
}

describe('download speed limits', () => {
  it("a task's own limit: the limited download runs near the limit, the unlimited one far above it", async () => {
    const s = session();
    const size = 2_000_000;
    const limited = await timedDownload(s, size, 1, { maximumBytesPerSecond: LIMIT });
    const unlimited = await timedDownload(s, size, 1);
    expect(limited.sha).toBe(sha256(makeBytes(size, 1)));
    expect(unlimited.sha).toBe(limited.sha);
    expect(limited.rate).toBeLessThan(2 * LIMIT);
    expect(limited.rate).toBeGreaterThan(LIMIT / 2);
    expect(unlimited.rate).toBeGreaterThan(5 * LIMIT);
  }, 30_000);

  it("the session's limit is shared by its running tasks: two at once each get about half", async () => {
    const s = session({ maximumBytesPerSecond: LIMIT });
    const size = 1_000_000;
    const started = performance.now();
    const finished: number[] = [];
    const [a, b] = await Promise.all(
      [2, 3].map(async (seed) => {
        const result = await s.download(`${server.base}/file?size=${size}&seed=${seed}`).done;
        finished.push(performance.now() - started);
        return sha256(fs.readFileSync(result.location));
      }),
    );
    expect([a, b]).toEqual([sha256(makeBytes(size, 2)), sha256(makeBytes(size, 3))]);
    // Each alone would take a second at the limit; sharing it, each takes about two.
    const rates = finished.map((ms) => (size * 1000) / ms);
    for (const rate of rates) expect(rate).toBeLessThan(0.8 * LIMIT);
    // Together they stay within the budget (and use most of it).
    const together = (2 * size * 1000) / Math.max(...finished);
    expect(together).toBeLessThan(1.5 * LIMIT);
    expect(together).toBeGreaterThan(LIMIT / 2);
    // The session's limit can be lifted: the next download runs far above it.
    s.setSpeedLimit(null);
    expect((await timedDownload(s, 2_000_000, 4)).rate).toBeGreaterThan(5 * LIMIT);
  }, 30_000);

  it('a limit changed mid-transfer takes effect at once, and lifting it lets the rest run free', async () => {
    const s = session();
    const size = 4_000_000;
    const task = s.download(`${server.base}/file?size=${size}&seed=5`, { maximumBytesPerSecond: LIMIT });
    const seen: { at: number; total: number }[] = [];
    task.on('progress', (p: URLSession.TaskProgress) => seen.push({ at: performance.now(), total: p.transferred }));
    await waitFor('600 kB at the first limit', () => (seen.at(-1)?.total ?? 0) >= 600_000);
    const fast = seen.at(-1)!;
    const fastRate = ((fast.total - seen[0].total) * 1000) / (fast.at - seen[0].at);
    task.setSpeedLimit(LIMIT / 10);
    const changed = { at: performance.now(), total: fast.total };
    await waitFor('150 kB more at the lower limit', () => seen.at(-1)!.total >= changed.total + 150_000);
    const slow = seen.at(-1)!;
    const slowRate = ((slow.total - changed.total) * 1000) / (slow.at - changed.at);
    task.setSpeedLimit(0);
    const free = { at: performance.now(), total: slow.total };
    const result = await task.done;
    const freeRate = ((size - free.total) * 1000) / (performance.now() - free.at);
    expect(sha256(fs.readFileSync(result.location))).toBe(sha256(makeBytes(size, 5)));
    expect(fastRate).toBeGreaterThan(4 * slowRate);
    expect(slowRate).toBeLessThan(2 * (LIMIT / 10));
    expect(freeRate).toBeGreaterThan(5 * LIMIT);
  }, 30_000);

  it("Titanium's downloadTask takes the option, and session.setTaskSpeedLimit changes it", async () => {
    const s = session();
    const size = 1_500_000;
    const started = performance.now();
    const progress: { at: number; total: number }[] = [];
    s.on('downloadprogress', (e) => progress.push({ at: performance.now(), total: e.totalBytesWritten }));
    const completed = new Promise<string>((resolve) => s.on('downloadcompleted', (e) => resolve(e.location)));
    const id = s.downloadTask({ url: `${server.base}/file?size=${size}&seed=6`, maximumBytesPerSecond: LIMIT / 2 });
    await waitFor('400 kB at the limit', () => (progress.at(-1)?.total ?? 0) >= 400_000);
    const limitedRate = (progress.at(-1)!.total * 1000) / (performance.now() - started);
    expect(s.setTaskSpeedLimit(id, 0)).toBe(true);
    const lifted = { at: performance.now(), total: progress.at(-1)!.total };
    const file = await completed;
    const liftedRate = ((size - lifted.total) * 1000) / (performance.now() - lifted.at);
    expect(sha256(fs.readFileSync(file))).toBe(sha256(makeBytes(size, 6)));
    expect(limitedRate).toBeLessThan(LIMIT);
    expect(liftedRate).toBeGreaterThan(5 * limitedRate);
    expect(s.setTaskSpeedLimit(id + 1000, LIMIT)).toBe(false);
  }, 30_000);
});

describe('upload speed limits', () => {
  it('a limited upload runs near the limit, an unlimited one far above it; the server gets every byte', async () => {
    const s = session();
    const body = makeBytes(2_000_000, 7);
    const timed = async (options: URLSession.UploadOptions): Promise<number> => {
      const started = performance.now();
      const result = await s.upload(`${server.base}/echo`, body, options).done;
      const rate = (body.length * 1000) / (performance.now() - started);
      expect(JSON.parse(result.body.toString())).toMatchObject({ length: body.length, sha256: sha256(body) });
      return rate;
    };
    const limited = await timed({ maximumBytesPerSecond: LIMIT });
    const unlimited = await timed({});
    expect(limited).toBeLessThan(2 * LIMIT);
    expect(limited).toBeGreaterThan(LIMIT / 2);
    expect(unlimited).toBeGreaterThan(5 * LIMIT);
  }, 30_000);

  it("the session's limit paces uploads too", async () => {
    const s = session({ maximumBytesPerSecond: LIMIT });
    const body = makeBytes(1_500_000, 8);
    const started = performance.now();
    const result = await s.upload(`${server.base}/echo`, body).done;
    const rate = (body.length * 1000) / (performance.now() - started);
    expect(JSON.parse(result.body.toString())).toMatchObject({ length: body.length, sha256: sha256(body) });
    expect(rate).toBeLessThan(2 * LIMIT);
  }, 30_000);
});

describe('bad speed limits', () => {
  const expectCoded = (call: () => unknown, type: typeof RangeError | typeof TypeError): void => {
    let thrown: unknown;
    try {
      call();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(type);
    expect((thrown as { code?: string }).code).toBe('ERR_URLSESSION_SPEED_LIMIT');
  };

  it('negative, fractional and NaN limits are RangeErrors, non-numbers TypeErrors, all coded; 0 and null mean none', async () => {
    const s = session();
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectCoded(() => URLSession.createSessionConfiguration({ maximumBytesPerSecond: bad }), RangeError);
      expectCoded(() => s.setSpeedLimit(bad), RangeError);
      expectCoded(() => s.download(`${server.base}/file?size=10`, { maximumBytesPerSecond: bad }), RangeError);
      expectCoded(() => s.downloadTask({ url: `${server.base}/file?size=10`, maximumBytesPerSecond: bad }), RangeError);
      expectCoded(() => s.setTaskSpeedLimit(1, bad), RangeError);
    }
    expectCoded(() => s.setSpeedLimit('1000' as unknown as number), TypeError);
    expectCoded(
      () => s.request(`${server.base}/file?size=10`, { maximumBytesPerSecond: '1' as unknown as number }),
      TypeError,
    );
    const task = s.download(`${server.base}/file?size=1000&seed=9`, { maximumBytesPerSecond: null });
    expectCoded(() => task.setSpeedLimit(-5), RangeError);
    task.setSpeedLimit(0);
    s.setSpeedLimit(0);
    const result = await task.done;
    expect(sha256(fs.readFileSync(result.location))).toBe(sha256(makeBytes(1000, 9)));
    expect(URLSession.createSessionConfiguration({ maximumBytesPerSecond: null }).maximumBytesPerSecond).toBe(0);
  });
});
