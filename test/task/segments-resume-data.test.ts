// Resume data of a segmented download carries its plan (issue 18): a download cancelled by
// producing resume data mid-way, then resumed from the blob, continues every unfinished segment
// with a Range request from that segment's own `next` offset (not one request from the first
// gap), and the file's sha256 is right. Cancelled again while resumed, the next blob still
// places every segment, further on; cancelled while it still waits for a connection (the engine
// never opened its file), it gives back the same plan and gapless prefix, not the file's size. Against a paced real server on 127.0.0.1 (test/helpers/task-server.ts
// /segfile). What a blob's plan must satisfy to be trusted: test/security/resume-data.test.ts.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { decodeResumeData } from '../../lib/resume-data';
import { liveSessions } from '../helpers/sessions';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';
import { waitFor } from '../helpers/wait-for';

const server = useTaskServer();
const live = liveSessions();
const MiB = 1 << 20;

function session(): URLSession.Session {
  const configuration = URLSession.createSessionConfiguration({ downloadDirectory: tempDir('urlsession-seg-rd-') });
  const s = URLSession.createSession({ configuration });
  live.push(s);
  return s;
}

/** The blob's plan as [start, next, end] triples ([] when it carries none). */
function planOf(resumeData: Buffer): number[][] {
  const text = (decodeResumeData(resumeData) as { segmentPlan?: string }).segmentPlan ?? '';
  return text === '' ? [] : text.split(',').map((segment) => segment.split('-').map(Number));
}

/** The start offsets of the Range requests the server saw for `key` from request `from` on. */
function rangeStartsSince(from: number, key: string): { starts: number[]; plain: number } {
  const mine = server.seen.slice(from).filter((r) => r.url.includes(`key=${key}&`));
  const starts = mine
    .map((r) => /^bytes=(\d+)-/.exec(String(r.headers.range ?? ''))?.[1])
    .filter((start): start is string => start !== undefined)
    .map(Number);
  for (const r of mine) if (r.headers.range !== undefined) expect(r.headers['if-range']).toBe('"v1"');
  return { starts, plain: mine.filter((r) => r.headers.range === undefined).length };
}

/** Cancels `task` by producing resume data once every one of `starts` has sent `bytes`. */
async function cancelMidway(task: URLSession.Task<URLSession.DownloadResult>, key: string, starts: string[]) {
  await waitFor('every segment to be under way', () =>
    starts.every((start) => (server.written.get(`${key}:${start}`) ?? 0) >= 256 * 1024),
  );
  const data = (await task.cancelByProducingResumeData()) as Buffer;
  await task.done.catch(() => undefined);
  expect(data).toBeInstanceOf(Buffer);
  return data;
}

describe('resume data of a segmented download', () => {
  it('resumes every unfinished segment from its own next offset, byte-exact', async () => {
    const s = session();
    const size = 8 * MiB + 11;
    const key = 'rd1';
    // About 1.6 MB/s per request: the cancel comes while every segment is under way.
    const url = `${server.base}/segfile?size=${size}&seed=21&key=${key}&delay=20&chunk=32768`;
    const quarter = Math.floor(size / 4);
    const data = await cancelMidway(s.download(url, { segments: 4 }), key, [
      'get',
      String(quarter),
      String(2 * quarter),
      String(3 * quarter),
    ]);
    const before = server.seen.length;
    const result = await s.download({ resumeData: data }).done;
    expect(sha256(fs.readFileSync(result.location))).toBe(sha256(makeBytes(size, 21)));
    // Only Range requests, one from every unfinished segment's own next offset.
    const resumed = rangeStartsSince(before, key);
    expect(resumed.plain).toBe(0);
    expect(resumed.starts.length).toBeGreaterThan(1);
    const unfinished = planOf(data).filter(([, next, end]) => next < end);
    expect(planOf(data)).toHaveLength(4);
    expect(resumed.starts.slice(0, unfinished.length).sort((a, b) => a - b)).toEqual(
      unfinished.map(([, next]) => next),
    );
    expect(resumed.starts).not.toContain(0);
  }, 60_000);

  it('cancelled again while resumed, the next blob places every segment further on', async () => {
    const s = session();
    const size = 8 * MiB + 11;
    const key = 'rd2';
    const url = `${server.base}/segfile?size=${size}&seed=22&key=${key}&delay=20&chunk=32768`;
    const quarter = Math.floor(size / 4);
    const data = await cancelMidway(s.download(url, { segments: 4 }), key, [
      'get',
      String(quarter),
      String(2 * quarter),
      String(3 * quarter),
    ]);
    const plan = planOf(data);
    const unfinished = plan.filter(([, next, end]) => next < end);
    expect(unfinished.length).toBeGreaterThan(1);
    const again = await cancelMidway(
      s.download({ resumeData: data }),
      key,
      unfinished.map(([, next]) => String(next)),
    );
    const planAgain = planOf(again);
    expect(planAgain.length).toBeGreaterThanOrEqual(4);
    for (const [start, next] of plan) {
      const now = planAgain.find(([other]) => other === start);
      expect(now?.[1]).toBeGreaterThanOrEqual(next);
    }
    const before = server.seen.length;
    const result = await s.download({ resumeData: again }).done;
    expect(sha256(fs.readFileSync(result.location))).toBe(sha256(makeBytes(size, 22)));
    const resumed = rangeStartsSince(before, key);
    const unfinishedAgain = planAgain.filter(([, next, end]) => next < end);
    expect(resumed.plain).toBe(0);
    expect(resumed.starts.slice(0, unfinishedAgain.length).sort((a, b) => a - b)).toEqual(
      unfinishedAgain.map(([, next]) => next),
    );
  }, 60_000);

  it('cancelled while it waits for a connection, a resumed download gives back the plan, not its holes', async () => {
    const s = session();
    const size = 8 * MiB + 11;
    const key = 'rd3';
    const url = `${server.base}/segfile?size=${size}&seed=25&key=${key}&delay=20&chunk=32768`;
    const quarter = Math.floor(size / 4);
    const data = await cancelMidway(s.download(url, { segments: 4 }), key, [
      'get',
      String(quarter),
      String(2 * quarter),
      String(3 * quarter),
    ]);
    // One connection per host: a slow download holds it, and the resumed one waits in the engine.
    const narrow = URLSession.createSession({
      configuration: URLSession.createSessionConfiguration({
        downloadDirectory: tempDir('urlsession-seg-rd-narrow-'),
        HTTPMaximumConnectionsPerHost: 1,
      }),
    });
    live.push(narrow);
    const holder = narrow.download(`${server.base}/segfile?size=${4 * MiB}&seed=26&key=holder&delay=20&chunk=16384`);
    await waitFor('the holder to be under way', () => (server.written.get('holder:get') ?? 0) > 0);
    const waiting = narrow.download({ resumeData: data });
    const again = (await waiting.cancelByProducingResumeData()) as Buffer;
    await waiting.done.catch(() => undefined);
    holder.cancel();
    expect(again).toBeInstanceOf(Buffer);
    expect(decodeResumeData(again).offset).toBe(decodeResumeData(data).offset);
    const result = await s.download({ resumeData: again }).done;
    expect(sha256(fs.readFileSync(result.location))).toBe(sha256(makeBytes(size, 25)));
    expect(planOf(again)).toEqual(planOf(data));
  }, 60_000);
});
