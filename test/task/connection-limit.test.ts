// HTTPMaximumConnectionsPerHost is a limit on connections, whatever the client's pattern: a
// client that starts the next task the moment one finishes must reuse the connection just freed,
// not open another. Real loopback servers (HTTP/1.1, HTTPS, HTTP/2) count the TCP connections
// they accept and how many are open at once.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { liveSessions } from '../helpers/sessions';
import { makeBytes, sha256 } from '../helpers/task-server';
import { tempDir } from '../helpers/temp';
import { makeCertificates, type TestCertificates } from '../helpers/tls';

interface CountingServer {
  base: string;
  /** TCP connections accepted since the last reset. */
  accepted: number;
  /** The most connections open at once since the last reset. */
  peakOpen: number;
  requests: number;
  /** The sha256 of what /f/<i> answers. */
  expectedSha(i: number): string;
  /** The sha256 of the whole of /r/<i>. */
  resumableSha(i: number): string;
  reset(): void;
  close(): Promise<void>;
}

const BODY_SIZE = 24 * 1024;
// /r/<i>: a body that stops after its first RESUME_HELD bytes until the client gives up on it;
// a Range request for the rest gets a 206 at once (ETag and Accept-Ranges, so resume data holds).
const RESUME_SIZE = 256 * 1024;
const RESUME_HELD = 64 * 1024;

/** GET /f/<i> answers BODY_SIZE bytes that depend on i, with Content-Length (keep-alive on HTTP/1.1). */
async function startCountingServer(kind: 'http' | 'https' | 'h2', certs?: TestCertificates): Promise<CountingServer> {
  const bodies = new Map<number, Buffer>();
  const body = (i: number): Buffer => {
    let b = bodies.get(i);
    if (b === undefined) bodies.set(i, (b = makeBytes(BODY_SIZE, i + 1)));
    return b;
  };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    state.requests++;
    const held = /^\/r\/(\d+)$/.exec(req.url ?? '');
    if (held !== null) return void resumable(req, res, Number(held[1]));
    const match = /^\/f\/(\d+)$/.exec(req.url ?? '');
    if (match === null) return void res.writeHead(404).end();
    const b = body(Number(match[1]));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': b.length });
    res.end(b);
  };
  const resumable = (req: http.IncomingMessage, res: http.ServerResponse, i: number): void => {
    const whole = makeBytes(RESUME_SIZE, 1000 + i);
    const head = { 'content-type': 'application/octet-stream', etag: `"r${i}"`, 'accept-ranges': 'bytes' };
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? -1);
    if (from >= 0 && req.headers['if-range'] === `"r${i}"`) {
      res.writeHead(206, {
        ...head,
        'content-length': RESUME_SIZE - from,
        'content-range': `bytes ${from}-${RESUME_SIZE - 1}/${RESUME_SIZE}`,
      });
      return void res.end(whole.subarray(from));
    }
    res.writeHead(200, { ...head, 'content-length': RESUME_SIZE });
    res.write(whole.subarray(0, RESUME_HELD));
  };
  const tls = { key: certs?.key ?? '', cert: certs?.cert ?? '' };
  const server =
    kind === 'h2'
      ? http2.createSecureServer({ ...tls, allowHTTP1: false }, handler as never)
      : kind === 'https'
        ? https.createServer(tls, handler)
        : http.createServer(handler);
  const state = { accepted: 0, open: 0, peakOpen: 0, requests: 0 };
  const sockets = new Set<Socket>();
  // Open connections are counted per reset: an earlier test's session may still be closing its own.
  // A connection is open until the client's FIN ('end') or its close. The peak is taken after the
  // rest of this turn's I/O (setImmediate): a client that closed one connection and then opened
  // the next had the FIN queued before the new connection, and Node may hand over the accept first.
  let epoch = 0;
  server.on('connection', (socket: Socket) => {
    const accepted = epoch;
    let counted = true;
    const gone = (): void => {
      if (counted && accepted === epoch) state.open--;
      counted = false;
    };
    state.accepted++;
    state.open++;
    setImmediate(() => {
      if (accepted === epoch) state.peakOpen = Math.max(state.peakOpen, state.open + (counted ? 0 : 1));
    });
    sockets.add(socket);
    socket.on('end', gone);
    socket.on('close', () => {
      gone();
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `${kind === 'http' ? 'http' : 'https'}://127.0.0.1:${port}`,
    get accepted() {
      return state.accepted;
    },
    get peakOpen() {
      return state.peakOpen;
    },
    get requests() {
      return state.requests;
    },
    expectedSha: (i) => sha256(body(i)),
    resumableSha: (i) => sha256(makeBytes(RESUME_SIZE, 1000 + i)),
    reset() {
      epoch++;
      state.accepted = 0;
      state.open = 0;
      state.peakOpen = 0;
      state.requests = 0;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Runs `total` tasks keeping exactly `inFlight` of them running: each next one starts in the
 * `.then` of one that finished, the pattern of a promise-API download manager.
 */
async function churn(total: number, inFlight: number, run: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) await run(next++);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

const fileSha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let certs: TestCertificates;
let plain: CountingServer;
let secure: CountingServer;
let h2: CountingServer;
const sessions = liveSessions();

beforeAll(async () => {
  certs = makeCertificates();
  plain = await startCountingServer('http');
  secure = await startCountingServer('https', certs);
  h2 = await startCountingServer('h2', certs);
});
afterAll(async () => {
  await Promise.all([plain.close(), secure.close(), h2.close()]);
});
afterEach(() => {
  for (const server of [plain, secure, h2]) server.reset();
});

function session(limit: number, options: URLSession.SessionConfigurationOptions = {}): URLSession.Session {
  const s = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({ HTTPMaximumConnectionsPerHost: limit, ...options }),
  });
  sessions.push(s);
  return s;
}

/** Promise-API downloads of /f/0 .. /f/<total-1> into a new folder, `inFlight` at a time; checks every file's bytes. */
async function churnDownloads(
  s: URLSession.Session,
  server: CountingServer,
  total: number,
  inFlight: number,
): Promise<void> {
  const dir = tempDir('urlsession-connlimit-');
  await churn(total, inFlight, async (i) => {
    const result = await s.download(`${server.base}/f/${i}`, { destination: path.join(dir, `f${i}`) }).done;
    expect(result.statusCode).toBe(200);
    expect(fileSha(result.location)).toBe(server.expectedSha(i));
    fs.unlinkSync(result.location);
  });
}

describe('HTTPMaximumConnectionsPerHost under churn', () => {
  it('1,000 promise downloads, 10 in flight, each next one started as one finishes: at most 10 connections, reused', async () => {
    await churnDownloads(session(10), plain, 1000, 10);
    expect(plain.requests).toBe(1000);
    expect(plain.accepted).toBeLessThanOrEqual(10);
    expect(plain.peakOpen).toBeLessThanOrEqual(10);
  });

  it('limit 100, 1,000 promise downloads, 100 in flight: at most 100 connections', async () => {
    await churnDownloads(session(100), plain, 1000, 100);
    expect(plain.requests).toBe(1000);
    expect(plain.accepted).toBeLessThanOrEqual(100);
    expect(plain.peakOpen).toBeLessThanOrEqual(100);
  });

  it('six hosts churning at once, 10 in flight each: at most 10 connections per host', async () => {
    const hosts = await Promise.all(Array.from({ length: 6 }, () => startCountingServer('http')));
    try {
      const s = session(10);
      await Promise.all(hosts.map((host) => churnDownloads(s, host, 200, 10)));
      expect(hosts.map((host) => host.requests)).toEqual(hosts.map(() => 200));
      expect(Math.max(...hosts.map((host) => host.accepted))).toBeLessThanOrEqual(10);
      expect(Math.max(...hosts.map((host) => host.peakOpen))).toBeLessThanOrEqual(10);
    } finally {
      await Promise.all(hosts.map((host) => host.close()));
    }
  });

  it('limit 2, 50 downloads started at once: the waiting tasks take over the 2 connections', async () => {
    const s = session(2);
    const dir = tempDir('urlsession-connlimit-');
    const results = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) => s.download(`${plain.base}/f/${i}`, { destination: path.join(dir, `f${i}`) }).done,
      ),
    );
    results.forEach((result, i) => expect(fileSha(result.location)).toBe(plain.expectedSha(i)));
    expect(plain.requests).toBe(50);
    expect(plain.accepted).toBeLessThanOrEqual(2);
  });

  it('Titanium dataTasks, each next one started from sessioncompleted: at most 10 connections, reused', async () => {
    const s = session(10);
    const total = 1000;
    let started = 0;
    let finished = 0;
    const wrong: string[] = [];
    const start = (): void => {
      const i = started++;
      s.dataTask({ url: `${plain.base}/f/${i}` });
    };
    const done = new Promise<void>((resolve) => {
      s.on('sessioncompleted', (e) => {
        if (!e.success || e.statusCode !== 200) wrong.push(`${e.taskIdentifier}: ${e.errorCode} ${e.statusCode}`);
        if (++finished === total) resolve();
        else if (started < total) start();
      });
    });
    for (let k = 0; k < 10; k++) start();
    await done;
    expect(wrong).toEqual([]);
    expect(plain.requests).toBe(total);
    expect(plain.accepted).toBeLessThanOrEqual(10);
    expect(plain.peakOpen).toBeLessThanOrEqual(10);
  });

  it('HTTPS: 300 promise downloads, 10 in flight: at most 10 TLS connections, reused', async () => {
    await churnDownloads(session(10, { tls: { ca: certs.caPem } }), secure, 300, 10);
    expect(secure.requests).toBe(300);
    expect(secure.accepted).toBeLessThanOrEqual(10);
    expect(secure.peakOpen).toBeLessThanOrEqual(10);
  });

  it('HTTP/2: 300 promise downloads, 30 in flight over a limit of 10: one multiplexed connection', async () => {
    await churnDownloads(session(10, { tls: { ca: certs.caPem } }), h2, 300, 30);
    expect(h2.requests).toBe(300);
    expect(h2.accepted).toBe(1);
  });

  it('one download at a time, each started when the last one finished: one connection for all 300', async () => {
    await churnDownloads(session(6), plain, 300, 1);
    expect(plain.requests).toBe(300);
    expect(plain.accepted).toBe(1);
  });

  it('30 promise chains over a limit of 6: the waiting tasks take the freed connections, at most 6', async () => {
    await churnDownloads(session(6), plain, 900, 30);
    expect(plain.requests).toBe(900);
    expect(plain.accepted).toBeLessThanOrEqual(6);
    expect(plain.peakOpen).toBeLessThanOrEqual(6);
  });

  it('data and download tasks mixed on one host, 12 chains over a limit of 4: at most 4 connections', async () => {
    const s = session(4);
    const dir = tempDir('urlsession-connlimit-');
    await churn(600, 12, async (i) => {
      const url = `${plain.base}/f/${i}`;
      if (i % 2 === 0) {
        const result = await s.request(url).done;
        expect(sha256(result.body)).toBe(plain.expectedSha(i));
      } else {
        const result = await s.download(url, { destination: path.join(dir, `f${i}`) }).done;
        expect(fileSha(result.location)).toBe(plain.expectedSha(i));
        fs.unlinkSync(result.location);
      }
    });
    expect(plain.requests).toBe(600);
    expect(plain.accepted).toBeLessThanOrEqual(4);
    expect(plain.peakOpen).toBeLessThanOrEqual(4);
  });

  it('Titanium downloadTasks, each next one started from sessioncompleted: at most 10 connections, reused', async () => {
    const dir = tempDir('urlsession-connlimit-');
    const s = session(10, { downloadDirectory: dir });
    const total = 300;
    let started = 0;
    let finished = 0;
    const wrong: string[] = [];
    const indexOf = new Map<number, number>();
    const start = (): void => {
      const i = started++;
      indexOf.set(s.downloadTask({ url: `${plain.base}/f/${i}` }), i);
    };
    const done = new Promise<void>((resolve) => {
      s.on('downloadcompleted', (e) => {
        const i = indexOf.get(e.taskIdentifier) ?? -1;
        if (fileSha(e.location) !== plain.expectedSha(i)) wrong.push(`${i}: wrong bytes`);
        fs.unlinkSync(e.location);
      });
      s.on('sessioncompleted', (e) => {
        if (!e.success || e.statusCode !== 200) wrong.push(`${e.taskIdentifier}: ${e.errorCode} ${e.statusCode}`);
        if (++finished === total) resolve();
        else if (started < total) start();
      });
    });
    for (let k = 0; k < 10; k++) start();
    await done;
    expect(wrong).toEqual([]);
    expect(plain.requests).toBe(total);
    expect(plain.accepted).toBeLessThanOrEqual(10);
    expect(plain.peakOpen).toBeLessThanOrEqual(10);
  });

  it('downloads cancelled with resume data and resumed, 10 chains over a limit of 5: never more than 5 open', async () => {
    const s = session(5, { progressInterval: 0 });
    const dir = tempDir('urlsession-connlimit-');
    const total = 40;
    await churn(total, 10, async (i) => {
      const task = s.download(`${plain.base}/r/${i}`, { destination: path.join(dir, `r${i}`) });
      await new Promise<void>((resolve) => task.on('progress', (p) => p.transferred >= RESUME_HELD && resolve()));
      const resumeData = (await task.cancelByProducingResumeData()) as Buffer;
      await expect(task.done).rejects.toMatchObject({ name: 'AbortError' });
      const result = await s.download({ resumeData }).done;
      expect(result.statusCode).toBe(206);
      expect(fileSha(result.location)).toBe(plain.resumableSha(i));
      fs.unlinkSync(result.location);
    });
    expect(plain.requests).toBe(2 * total);
    // A cancelled response cannot be reused: each costs one connection, never more at once.
    expect(plain.accepted).toBeLessThanOrEqual(5 + total);
    expect(plain.peakOpen).toBeLessThanOrEqual(5);
  });
});
