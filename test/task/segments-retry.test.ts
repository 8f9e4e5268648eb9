// A segment of a segmented download whose connection is cut mid-range (issue 18): its request is
// sent again from the segment's own next offset (not its start), a bounded number of times
// (core/segment_rules.h kSegmentRetries), and the file is byte-exact; past the bound the task
// fails with the transfer's error. The same for the task's own GET (the first segment's): its
// segment goes on as a Range request of its own. Real server on 127.0.0.1
// (test/helpers/task-server.ts /segfile?cutFrom&cutAfter&cutTimes, ?cutFirstAfter&cutTimes). Segments of 1.5 MiB: never twice the minimum segment, so
// no rebalancing split moves the cut range's end.
// retry: 0: lib/retry.ts would otherwise send the failed task again, hiding the engine's verdict.
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
const size = 6 * MiB;
const cutFrom = (size / 4) * 2; // the third of four segments
const cutAfter = 300_000;

function session(): URLSession.Session {
  const configuration = URLSession.createSessionConfiguration({ downloadDirectory: tempDir('urlsession-segretry-') });
  const s = URLSession.createSession({ configuration });
  live.push(s);
  return s;
}

/** The start offsets of the Range requests of one key, in the order the server saw them. */
function rangeStarts(key: string): number[] {
  return server.seen
    .filter((r) => r.url.endsWith(`key=${key}`))
    .map((r) => /^bytes=(\d+)-/.exec(String(r.headers.range ?? ''))?.[1])
    .filter((start): start is string => start !== undefined)
    .map(Number);
}

function url(key: string, cutTimes: number): string {
  return `${server.base}/segfile?size=${size}&seed=31&cutFrom=${cutFrom}&cutAfter=${cutAfter}&cutTimes=${cutTimes}&key=${key}`;
}

describe('segmented downloads: a segment cut mid-range', () => {
  it('is asked for again from where it stopped, and the file is byte-exact', async () => {
    const key = 'cut-once';
    const result = await session().download(url(key, 1), { segments: 4, retry: 0 }).done;
    expect(sha256(fs.readFileSync(result.location))).toBe(sha256(makeBytes(size, 31)));
    const starts = rangeStarts(key);
    // The cut request, then its retry from the cut offset; never the segment's start again.
    expect(starts.filter((start) => start === cutFrom)).toEqual([cutFrom]);
    expect(starts).toContain(cutFrom + cutAfter);
    expect(server.written.get(`${key}:${cutFrom}`)).toBe(cutAfter);
    expect(server.written.get(`${key}:${cutFrom + cutAfter}`)).toBe(size / 4 - cutAfter);
  });

  it('is retried three times at most: a fourth cut fails the task with the transfer error', async () => {
    const ok = 'cut-thrice';
    const result = await session().download(url(ok, 3), { segments: 4, retry: 0 }).done;
    expect(sha256(fs.readFileSync(result.location))).toBe(sha256(makeBytes(size, 31)));
    const retried = [1, 2, 3].map((n) => cutFrom + n * cutAfter);
    expect(rangeStarts(ok).filter((start) => start >= cutFrom && start < size * 0.75)).toEqual([cutFrom, ...retried]);

    const bad = 'cut-four-times';
    const error = await session()
      .download(url(bad, 4), { segments: 4, retry: 0 })
      .done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(URLSession.TransferError);
    expect(error).toMatchObject({ errorCode: -1005 });
    expect(rangeStarts(bad).filter((start) => start >= cutFrom && start < size * 0.75)).toEqual([cutFrom, ...retried]);
  });

  it("of the task's own GET goes on as a Range request from where it stopped, and the file is byte-exact", async () => {
    const key = 'cut-first-once';
    const events: string[] = [];
    const task = session().download(firstUrl(key, 1), { segments: 4, retry: 0 });
    task.on('response', () => events.push('response'));
    task.on('complete', () => events.push('complete'));
    const result = await task.done;
    expect(sha256(fs.readFileSync(result.location))).toBe(sha256(makeBytes(size, 31)));
    expect(server.written.get(`${key}:get`)).toBe(cutAfter);
    // The first segment's rest, from the cut offset; never its start again.
    expect(rangeStarts(key)).toContain(cutAfter);
    expect(rangeStarts(key)).not.toContain(0);
    expect(server.written.get(`${key}:${cutAfter}`)).toBe(size / 4 - cutAfter);
    expect(events).toEqual(['response', 'complete']);
  });

  it("of the task's own GET is retried three times at most: a fourth cut fails the task with -1005", async () => {
    const bad = 'cut-first-four-times';
    const error = await session()
      .download(firstUrl(bad, 4), { segments: 4, retry: 0 })
      .done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(URLSession.TransferError);
    expect(error).toMatchObject({ errorCode: -1005 });
    const retried = [1, 2, 3].map((n) => n * cutAfter);
    expect(rangeStarts(bad).filter((start) => start < size / 4)).toEqual(retried);
  });

  it("of a resumed plan's own Range request goes on from where it stopped, byte-exact", async () => {
    const s = session();
    const key = 'cut-resumed-first';
    // About 1.6 MB/s per request: the cancel comes while every segment is under way.
    const paced = `${server.base}/segfile?size=${size}&seed=33&delay=20&chunk=32768&key=${key}`;
    const task = s.download(paced, { segments: 4, retry: 0 });
    await waitFor('every segment to be under way', () =>
      ['get', ...[1, 2, 3].map((n) => String((n * size) / 4))].every(
        (start) => (server.written.get(`${key}:${start}`) ?? 0) >= 256 * 1024,
      ),
    );
    const data = (await task.cancelByProducingResumeData()) as Buffer;
    await task.done.catch(() => undefined);
    const text = (decodeResumeData(data) as { segmentPlan?: string }).segmentPlan ?? '';
    // The first unfinished segment is the resumed task's own Range request.
    const own = text
      .split(',')
      .map((segment) => segment.split('-').map(Number))
      .find(([, next, end]) => next < end);
    expect(own).toBeDefined();
    const next = own?.[1] ?? -1;
    server.cutRangeOnce(key, next, cutAfter);
    const result = await s.download({ resumeData: data, retry: 0 }).done;
    expect(sha256(fs.readFileSync(result.location))).toBe(sha256(makeBytes(size, 33)));
    expect(server.written.get(`${key}:${next}`)).toBe(cutAfter);
    expect(rangeStarts(key)).toContain(next + cutAfter);
  }, 60_000);
});

function firstUrl(key: string, cutTimes: number): string {
  return `${server.base}/segfile?size=${size}&seed=31&cutFirstAfter=${cutAfter}&cutTimes=${cutTimes}&key=${key}`;
}
