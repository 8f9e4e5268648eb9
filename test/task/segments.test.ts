// Segmented downloads (issue 18) against a real server on 127.0.0.1 (test/helpers/task-server.ts
// /segfile): the body in N Range requests written into one file, byte-exact for sizes that do
// not divide evenly; small bodies stay one request; a segment that finishes early takes over half
// of the largest remaining range; the integrity check covers the whole file; and every answer a
// segmented download cannot use (no ranges, no validator, 200 to a Range request, another
// validator) falls back to the one GET, still byte-exact. The segment plan's own rules:
// test/native/segment-plan.test.ts.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { liveSessions } from '../helpers/sessions';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, useTaskServer, type SeenRequest } from '../helpers/task-server';
import { waitFor } from '../helpers/wait-for';

const server = useTaskServer();
const live = liveSessions();
const MiB = 1 << 20;

function session(): URLSession.Session {
  const configuration = URLSession.createSessionConfiguration({ downloadDirectory: tempDir('urlsession-seg-') });
  const s = URLSession.createSession({ configuration });
  live.push(s);
  return s;
}

function fileSha(file: string): string {
  return sha256(fs.readFileSync(file));
}

/** The requests the server saw for one key, in order. */
function requestsFor(key: string): SeenRequest[] {
  return server.seen.filter((r) => r.url.includes(`key=${key}&`) || r.url.endsWith(`key=${key}`));
}

/** The start offsets of the Range requests of one key. */
function rangeStarts(key: string): number[] {
  return requestsFor(key)
    .map((r) => /^bytes=(\d+)-/.exec(String(r.headers.range ?? ''))?.[1])
    .filter((start): start is string => start !== undefined)
    .map(Number);
}

describe('segmented downloads', () => {
  it('fetch N ranges in parallel into one byte-exact file, for sizes not divisible by N', async () => {
    const s = session();
    for (const [size, segments] of [
      [10 * MiB + 3, 3],
      [8 * MiB, 4],
      [5 * MiB + 1, 'auto'],
    ] as const) {
      const key = `even-${size}-${segments}`;
      const progress: number[] = [];
      const task = s.download(`${server.base}/segfile?size=${size}&seed=7&key=${key}`, { segments });
      task.on('progress', (p: URLSession.TaskProgress) => progress.push(p.transferred));
      const result = await task.done;
      expect(fileSha(result.location)).toBe(sha256(makeBytes(size, 7)));
      const count = segments === 'auto' ? 4 : segments;
      const starts = rangeStarts(key);
      // One GET plus a Range request for every other segment, each from its own offset (the
      // plan's: length / N * i); a segment done early may split another (more requests).
      expect(requestsFor(key).filter((r) => r.headers.range === undefined).length).toBe(1);
      const planned = Array.from({ length: count - 1 }, (_, i) => Math.floor(size / count) * (i + 1));
      expect(starts.slice(0, count - 1).sort((a, b) => a - b)).toEqual(planned);
      expect(new Set(starts).size).toBe(starts.length);
      for (const r of requestsFor(key).filter((q) => q.headers.range !== undefined)) {
        expect(r.headers['if-range']).toBe('"v1"');
        expect(r.headers['accept-encoding']).toBe('identity');
      }
      // Progress is the sum of every segment's bytes: it rises to the whole size.
      expect(progress.at(-1)).toBe(size);
      for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]);
    }
  });

  it('keeps a body smaller than twice the minimum segment in one request', async () => {
    const s = session();
    const size = 2 * MiB - 1;
    const result = await s.download(`${server.base}/segfile?size=${size}&seed=8&key=small`, { segments: 4 }).done;
    expect(fileSha(result.location)).toBe(sha256(makeBytes(size, 8)));
    expect(requestsFor('small').length).toBe(1);
    expect(rangeStarts('small')).toEqual([]);
  });

  it('rebalances: a segment done early takes over half of the slow one, and the bytes are right', async () => {
    const s = session();
    const size = 16 * MiB;
    const slowFrom = 4 * MiB; // the second of four segments crawls
    const key = 'rebalance';
    const result = await s.download(
      `${server.base}/segfile?size=${size}&seed=9&key=${key}&slowFrom=${slowFrom}&slowDelay=25&chunk=32768`,
      { segments: 4 },
    ).done;
    expect(fileSha(result.location)).toBe(sha256(makeBytes(size, 9)));
    const starts = rangeStarts(key);
    // More requests than segments: the slow range was split.
    expect(requestsFor(key).length).toBeGreaterThan(4);
    const splits = starts.filter((start) => start > slowFrom && start < 8 * MiB);
    expect(splits.length).toBeGreaterThanOrEqual(1);
    // The slow request stopped at the split instead of sending its whole range.
    expect(server.written.get(`${key}:${slowFrom}`)).toBeLessThan(4 * MiB);
  });

  it('checks integrity over the whole segmented file: a match resolves, a mismatch leaves nothing', async () => {
    const s = session();
    const size = 6 * MiB + 5;
    const bytes = makeBytes(size, 10);
    const good = `sha256-${createHash('sha256').update(bytes).digest('base64')}`;
    const folder = tempDir('urlsession-seg-sri-');
    const ok = await s.download(`${server.base}/segfile?size=${size}&seed=10&key=sri-good`, {
      segments: 3,
      integrity: good,
      destination: `${folder}/good.bin`,
    }).done;
    expect(fileSha(ok.location)).toBe(sha256(bytes));
    expect(rangeStarts('sri-good').length).toBe(2);
    const wrong = `sha256-${createHash('sha256').update('something else').digest('base64')}`;
    const error = await s
      .download(`${server.base}/segfile?size=${size}&seed=10&key=sri-bad`, {
        segments: 3,
        integrity: wrong,
        destination: `${folder}/bad.bin`,
      })
      .done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(URLSession.IntegrityError);
    expect(error).toMatchObject({ errorCode: -4000 });
    expect(rangeStarts('sri-bad').length).toBe(2);
    expect(fs.readdirSync(folder)).toEqual(['good.bin']);
  });

  it('falls back to one GET without ranges, without a validator, and when a range gets 200 or another validator', async () => {
    const s = session();
    const size = 6 * MiB + 7;
    const bytes = makeBytes(size, 11);
    for (const [key, query, leastRangeRequests] of [
      ['no-ranges', 'ranges=no', 0],
      ['no-validator', 'etag=none', 0],
      // The first refused answer drops the other Range request, which may not have gone out yet.
      ['range-200', 'rangeStatus=200', 1],
      ['other-etag', 'rangeEtag=changed', 1],
    ] as const) {
      const result = await s.download(`${server.base}/segfile?size=${size}&seed=11&key=${key}&${query}`, {
        segments: 3,
      }).done;
      expect(fileSha(result.location), key).toBe(sha256(bytes));
      expect(rangeStarts(key).length, key).toBeGreaterThanOrEqual(leastRangeRequests);
      if (leastRangeRequests === 0) expect(rangeStarts(key).length, key).toBe(0);
      // The GET sent the whole body itself.
      expect(server.written.get(`${key}:get`), key).toBe(size);
    }
  });

  it('resume data of a segmented download names its gapless prefix and continues every segment', async () => {
    const s = session();
    const size = 8 * MiB;
    const key = 'resume-data';
    const url = `${server.base}/segfile?size=${size}&seed=12&key=${key}&delay=20&chunk=32768`;
    const task = s.download(url, { segments: 4 });
    let transferred = 0;
    task.on('progress', (p: URLSession.TaskProgress) => (transferred = p.transferred));
    await waitFor('every segment under way', () => rangeStarts(key).length === 3 && transferred >= 2 * MiB);
    const resumeData = (await task.cancelByProducingResumeData()) as Buffer;
    await task.done.catch(() => undefined);
    const { offset } = JSON.parse(resumeData.toString()) as { offset: number };
    // Every segment had bytes, none was done: the gapless prefix is the first segment's.
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(2 * MiB);
    const before = server.seen.length;
    const result = await session().download({ resumeData }).done;
    expect(result.statusCode).toBe(206);
    expect(fileSha(result.location)).toBe(sha256(makeBytes(size, 12)));
    // The blob's plan continues every segment from its own offset (test/task/segments-resume-data.test.ts).
    const resumed = server.seen.slice(before).filter((r) => r.url.includes(`key=${key}`));
    expect(resumed.length).toBeGreaterThan(1);
    expect(resumed.map((r) => r.headers.range)).toContain(`bytes=${offset}-${Math.floor(size / 4) - 1}`);
    expect(resumed.every((r) => r.headers.range !== undefined && !String(r.headers.range).startsWith('bytes=0-'))).toBe(
      true,
    );
  });

  it('refuses a segments option that is not 1..16 or auto with a coded RangeError', () => {
    const s = session();
    for (const bad of [0, 17, 2.5, -1, 'many', Number.NaN]) {
      expect(() => s.download(`${server.base}/segfile`, { segments: bad as never })).toThrow(
        expect.objectContaining({ code: 'ERR_URLSESSION_SEGMENTS', name: 'RangeError' }),
      );
      expect(() => s.downloadTask({ url: `${server.base}/segfile`, segments: bad as never })).toThrow(
        expect.objectContaining({ code: 'ERR_URLSESSION_SEGMENTS' }),
      );
    }
  });
});

describe('segmented downloads under a speed limit', () => {
  it('a download that starts with a limit stays one request, held to the limit', async () => {
    const s = session();
    const size = 4 * MiB;
    const started = performance.now();
    const result = await s.download(`${server.base}/segfile?size=${size}&seed=21&key=limited-start`, {
      segments: 4,
      maximumBytesPerSecond: 2_000_000,
    }).done;
    const rate = (size * 1000) / (performance.now() - started);
    expect(fileSha(result.location)).toBe(sha256(makeBytes(size, 21)));
    // Segments would each move at the pacer's rate: four times the limit.
    expect(rangeStarts('limited-start')).toEqual([]);
    expect(rate).toBeLessThan(4_000_000);
  });

  it('a limit set while segments run: the task goes on as its own request alone, byte-exact', async () => {
    const s = session();
    const size = 12 * MiB;
    const key = 'limited-later';
    const task = s.download(`${server.base}/segfile?size=${size}&seed=22&key=${key}&delay=10&chunk=32768`, {
      segments: 4,
    });
    await waitFor('the range requests', () => rangeStarts(key).length === 3);
    task.setSpeedLimit(50 * MiB);
    const result = await task.done;
    expect(fileSha(result.location)).toBe(sha256(makeBytes(size, 22)));
    // The dropped requests stopped short of their ranges; nothing split after the limit came.
    expect(rangeStarts(key).length).toBe(3);
    const rangesSent = rangeStarts(key).map((start) => server.written.get(`${key}:${start}`) ?? 0);
    expect(rangesSent.reduce((sum, n) => sum + n, 0)).toBeLessThan(size - size / 4);
  });
});
