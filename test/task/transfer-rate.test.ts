// The live rate and time remaining in progress events (issue 18): bytesPerSecond over the recent
// past, counting only bytes that moved (not a resume's kept ones), and secondsRemaining from it,
// on the Titanium events and the promise API's Task alike, against paced real servers.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { liveSessions } from '../helpers/sessions';
import { tempDir } from '../helpers/temp';
import { useTaskServer } from '../helpers/task-server';

const server = useTaskServer();
const live = liveSessions();

function session(): URLSession.Session {
  const configuration = URLSession.createSessionConfiguration({ downloadDirectory: tempDir('urlsession-rate-') });
  const s = URLSession.createSession({ configuration });
  live.push(s);
  return s;
}

interface Seen {
  at: number;
  total: number;
  bytesPerSecond: number | null;
  secondsRemaining: number | null;
}

/** The rate the test itself sees between two progress events: bytes moved over time passed. */
function observedRate(from: Seen, to: Seen): number {
  return ((to.total - from.total) * 1000) / (to.at - from.at);
}

describe('progress events carry bytesPerSecond and secondsRemaining', () => {
  it('a paced download: null at first, then the rate the bytes really came at, and the time left from it', async () => {
    const s = session();
    const size = 3_000_000;
    // About 2 MB/s: 20,000 bytes every 10 ms.
    const task = s.download(`${server.base}/file?size=${size}&seed=3&delay=10&chunk=20000`);
    const fromTask: Seen[] = [];
    const fromTitanium: Seen[] = [];
    task.on('progress', (p: URLSession.TaskProgress) =>
      fromTask.push({
        at: performance.now(),
        total: p.transferred,
        bytesPerSecond: p.bytesPerSecond,
        secondsRemaining: p.secondsRemaining,
      }),
    );
    s.on('downloadprogress', (e) =>
      fromTitanium.push({
        at: performance.now(),
        total: e.totalBytesWritten,
        bytesPerSecond: e.bytesPerSecond,
        secondsRemaining: e.secondsRemaining,
      }),
    );
    await task.done;

    // Both APIs report the same figures for the same events.
    expect(fromTitanium.map((e) => [e.total, e.bytesPerSecond, e.secondsRemaining])).toEqual(
      fromTask.map((e) => [e.total, e.bytesPerSecond, e.secondsRemaining]),
    );
    expect(fromTask[0].bytesPerSecond).toBeNull();
    const measured = fromTask.filter((e) => e.bytesPerSecond !== null);
    expect(measured.length).toBeGreaterThan(3);
    // Once the window is full, the rate is what the test saw over the same stretch (within 2x:
    // the window and the test's clock differ by one event's delivery).
    const last = measured.at(-2)!;
    const windowStart = [...fromTask].reverse().find((e) => last.at - e.at >= 3_000) ?? fromTask[0];
    const seen = observedRate(windowStart, last);
    expect(last.bytesPerSecond!).toBeGreaterThan(seen / 2);
    expect(last.bytesPerSecond!).toBeLessThan(seen * 2);
    for (const e of measured) {
      if (e.total < size) expect(e.secondsRemaining).toBeCloseTo((size - e.total) / e.bytesPerSecond!, 6);
    }
    expect(fromTask.at(-1)).toMatchObject({ total: size, secondsRemaining: 0 });
  });

  it("a resumed download's kept bytes do not count as speed", async () => {
    const size = 3_000_000;
    const url = `${server.base}/file?size=${size}&seed=5&etag=r1&delay=10&chunk=20000&key=rate-resume`;
    const first = session();
    const task = first.download(url);
    await new Promise<void>((resolve) =>
      task.on('progress', (p: URLSession.TaskProgress) => p.transferred >= 2_000_000 && resolve()),
    );
    const resumeData = (await task.cancelByProducingResumeData()) as Buffer;
    await task.done.catch(() => undefined);

    const resumed = session().download({ resumeData });
    const seen: Seen[] = [];
    resumed.on('progress', (p: URLSession.TaskProgress) =>
      seen.push({
        at: performance.now(),
        total: p.transferred,
        bytesPerSecond: p.bytesPerSecond,
        secondsRemaining: p.secondsRemaining,
      }),
    );
    const result = await resumed.done;
    expect(result.statusCode).toBe(206);
    expect(seen[0].total).toBeGreaterThanOrEqual(2_000_000); // the kept bytes are in the total...
    const measured = seen.filter((e) => e.bytesPerSecond !== null && e.total < size);
    expect(measured.length).toBeGreaterThan(0);
    // ...but not in the rate: counting them would make it several times what really moved.
    for (const e of measured) expect(e.bytesPerSecond!).toBeLessThan(observedRate(seen[0], e) * 2);
  });

  it('an unknown size (chunked, no Content-Length): a rate, and no time remaining', async () => {
    const chunked = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const pump = (): void => {
        if (sent >= 1_200_000) return void res.end();
        res.write(Buffer.alloc(20_000, 7));
        sent += 20_000;
        setTimeout(pump, 10);
      };
      pump();
    });
    await new Promise<void>((resolve) => chunked.listen(0, '127.0.0.1', resolve));
    try {
      const s = session();
      const events: URLSession.DownloadProgressEvent[] = [];
      s.on('downloadprogress', (e) => events.push(e));
      const done = new Promise<URLSession.SessionCompletedEvent>((resolve) => s.once('sessioncompleted', resolve));
      s.downloadTask({ url: `http://127.0.0.1:${(chunked.address() as AddressInfo).port}/stream` });
      expect((await done).success).toBe(true);
      expect(events.every((e) => e.totalBytesExpectedToWrite === 0 && e.secondsRemaining === null)).toBe(true);
      expect(events.some((e) => e.bytesPerSecond !== null && e.bytesPerSecond > 0)).toBe(true);
    } finally {
      chunked.closeAllConnections();
      await new Promise((resolve) => chunked.close(resolve));
    }
  });
});
