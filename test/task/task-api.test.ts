// The promise API (session.download/upload/request) against a real loopback server:
// results, destinations, HTTPError, AbortSignal, suspend/resume, resume data, integrity,
// retries, streaming with backpressure, cookie policy and proxies.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { waitFor } from '../helpers/wait-for';
import * as URLSession from '../../lib/index';
import { decodeResumeData, encodeResumeData } from '../../lib/resume-data';
import { makeBytes, sha256, startProxy, startTaskServer, type TaskServer } from '../helpers/task-server';

let server: TaskServer;
let work: string;
const sessions: URLSession.Session[] = [];

beforeAll(async () => {
  server = await startTaskServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  for (const session of sessions.splice(0)) if (session.state === 'active') session.invalidateAndCancel();
});

function freshDir(): string {
  work = tempDir('urlsession-task-');
  return work;
}

function session(options: URLSession.SessionConfigurationOptions = {}): URLSession.Session {
  const s = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({ downloadDirectory: freshDir(), ...options }),
  });
  sessions.push(s);
  return s;
}

const fileSha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Far more than loopback socket buffers hold: the server can send all of it only to a reader. */
const BIG = 64 * 1024 * 1024;

/**
 * Resolves once a download of many megabytes in `s` has finished. A paused transfer shares the
 * engine thread with it, so had it not been paused it would have moved bytes meanwhile: a
 * positive barrier instead of a wait.
 */
async function engineWorkedThrough(s: URLSession.Session): Promise<void> {
  const result = await s.download(`${server.base}/file?size=${16 * 1024 * 1024}&seed=3`).done;
  expect(fs.statSync(result.location).size).toBe(16 * 1024 * 1024);
}

/** Resolves once the task's progress reports at least `bytes` transferred. */
function untilTransferred(
  task: { on(event: 'progress', listener: (p: URLSession.TaskProgress) => void): unknown },
  bytes: number,
): Promise<void> {
  return new Promise((resolve) =>
    task.on('progress', (p: URLSession.TaskProgress) => p.transferred >= bytes && resolve()),
  );
}

describe('download()', () => {
  it('resolves with the file, the response and plausible metrics; Titanium events fire too', async () => {
    const s = session();
    const completed: URLSession.SessionCompletedEvent[] = [];
    s.on('sessioncompleted', (e) => completed.push(e));
    const task = s.download(`${server.base}/file?size=3000000&seed=7`, { taskDescription: 'nightly' });
    expect(task.taskDescription).toBe('nightly');
    expect(task.state).toBe('running');
    const progress: number[] = [];
    task.on('progress', (p: URLSession.TaskProgress) => progress.push(p.transferred));
    const result = await task.done;
    expect(result.statusCode).toBe(200);
    expect(result.headers['content-length']).toBe('3000000');
    expect(fileSha(result.location)).toBe(sha256(makeBytes(3_000_000, 7)));
    expect(progress.at(-1)).toBe(3_000_000);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    const m = result.metrics;
    expect(m.protocol).toBe('http/1.1');
    expect(m.bytesReceived).toBe(3_000_000);
    expect(m.remoteAddress).toBe(`127.0.0.1:${new URL(server.base).port}`);
    expect(m.firstByteMs).toBeGreaterThan(0);
    expect(m.tlsMs).toBe(0); // plain http: no handshake
    expect(m.totalMs).toBeGreaterThanOrEqual(m.firstByteMs);
    expect(m.redirectCount).toBe(0);
    expect(task.state).toBe('completed');
    expect(completed.map((e) => [e.taskIdentifier, e.success])).toEqual([[task.taskIdentifier, true]]);
  });

  it('writes to a file destination, creating the parent, never overwriting unless asked', async () => {
    const s = session();
    const target = path.join(work, 'nested', 'deeper', 'data.bin');
    const first = await s.download(`${server.base}/file?size=1000&seed=1`, { destination: target }).done;
    expect(first.location).toBe(target);
    const second = await s.download(`${server.base}/file?size=2000&seed=2`, { destination: target }).done;
    expect(second.location).toBe(path.join(work, 'nested', 'deeper', 'data-1.bin'));
    expect(fs.statSync(target).size).toBe(1000);
    const third = await s.download(`${server.base}/file?size=3000&seed=3`, { destination: target, overwrite: true })
      .done;
    expect(third.location).toBe(target);
    expect(fileSha(target)).toBe(sha256(makeBytes(3000, 3)));
    expect(fs.readdirSync(path.dirname(target)).sort()).toEqual(['data-1.bin', 'data.bin']);
  });

  it('names files in a folder from Content-Disposition (filename* first) or the URL, never outside it', async () => {
    const s = session();
    const folder = path.join(work, 'inbox') + path.sep;
    const cases: Array<[string, string]> = [
      [`attachment; filename="plain.txt"`, 'plain.txt'],
      [`attachment; filename="fallback.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`, 'résumé.pdf'],
      // A name with a path keeps its last segment (RFC 6266 §4.3).
      [`attachment; filename="../../escape.sh"`, 'escape.sh'],
      [`attachment; filename="/etc/passwd"`, 'passwd'],
      [`attachment; filename=".."`, 'download'],
      [`attachment; filename*=UTF-8''a%00b%2F..%2Fc`, 'c'],
      [`attachment; filename*=UTF-8''a%00b.txt`, 'a_b.txt'],
      [`attachment; filename="CON.txt"`, '_CON.txt'],
    ];
    for (const [cd, expected] of cases) {
      const result = await s.download(`${server.base}/file?size=10&cd=${encodeURIComponent(cd)}`, {
        destination: folder,
      }).done;
      expect(path.dirname(result.location)).toBe(path.join(work, 'inbox'));
      expect(path.basename(result.location)).toBe(expected);
    }
    const fromUrl = await s.download(`${server.base}/file?size=10`, { destination: folder }).done;
    expect(path.basename(fromUrl.location)).toBe('file');
    expect(fs.readdirSync(path.join(work, 'inbox')).length).toBe(cases.length + 1);
  });

  it('rejects HTTP errors with an HTTPError and leaves no file; throwHttpErrors: false resolves', async () => {
    const s = session();
    const dir = path.join(work, 'errors');
    const error = await s
      .download(`${server.base}/status/404`, { destination: dir + path.sep })
      .done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(URLSession.HTTPError);
    const httpError = error as URLSession.HTTPError;
    expect(httpError.code).toBe('ERR_URLSESSION_HTTP_ERROR');
    expect(httpError.statusCode).toBe(404);
    expect(httpError.headers['x-reason']).toBe('scripted');
    expect(httpError.body.toString()).toBe('status body 404');
    expect(fs.existsSync(dir) ? fs.readdirSync(dir) : []).toEqual([]);
    const result = await s.download(`${server.base}/status/500`, {
      destination: dir + path.sep,
      throwHttpErrors: false,
      retry: 0,
    }).done;
    expect(result.statusCode).toBe(500);
    expect(fs.readFileSync(result.location, 'utf8')).toBe('status body 500');
  });

  it('AbortSignal: aborted before start and mid-transfer reject with AbortError (-999), nothing left', async () => {
    const s = session();
    const already = s.download(`${server.base}/file?size=100`, { signal: AbortSignal.abort() });
    await expect(already.done).rejects.toMatchObject({ name: 'AbortError', errorCode: -999 });
    const controller = new AbortController();
    const task = s.download(`${server.base}/file?size=5000000&delay=5&chunk=16384`, {
      signal: controller.signal,
      destination: path.join(work, 'out.bin'),
    });
    await new Promise<void>((resolve) => task.once('progress', () => resolve()));
    controller.abort(new Error('user gave up'));
    const error = await task.done.catch((e: unknown) => e as URLSession.AbortError);
    expect(error).toBeInstanceOf(URLSession.AbortError);
    expect((error as Error).cause).toMatchObject({ message: 'user gave up' });
    expect(task.state).toBe('completed');
    await waitFor('the partial file to go', () => fs.readdirSync(work).length === 0);
  });

  it('suspend() stops the bytes and resume() continues them, byte-exact', async () => {
    const s = session();
    const first = 256 * 1024;
    const task = s.download(`${server.base}/gated?size=${BIG}&seed=9&first=${first}&key=suspend`);
    let latest = 0;
    task.on('progress', (p: URLSession.TaskProgress) => (latest = p.transferred));
    // The server sends nothing past `first` until released: nothing is in flight when it suspends.
    await waitFor('the first part', () => latest === first);
    task.suspend();
    expect(task.state).toBe('suspended');
    // The engine runs commands in the order given: once a request started after suspend() has
    // finished, the engine has paused this transfer.
    await s.request(`${server.base}/file?size=10`).done;
    server.release('suspend');
    await waitFor('the server to wait for a client that does not read', () => server.waitingForDrain.has('suspend'));
    await engineWorkedThrough(s);
    // The rest was on offer all along; the suspended task took none of it.
    expect(latest).toBe(first);
    expect(task.state).toBe('suspended');
    expect(server.written.get('suspend')).toBeGreaterThan(first);
    expect(server.written.get('suspend')).toBeLessThan(BIG / 2);
    task.resume();
    expect(task.state).toBe('running');
    const result = await task.done;
    expect(fileSha(result.location)).toBe(sha256(makeBytes(BIG, 9)));
  });

  it('cancelByProducingResumeData() continues with Range + If-Range in a new session', async () => {
    const first = session();
    const url = `${server.base}/file?size=3000000&seed=11&etag=v1&delay=5&chunk=16384&key=resume-a`;
    const task = first.download(url);
    await untilTransferred(task, 200_000);
    const resumeData = await task.cancelByProducingResumeData();
    expect(Buffer.isBuffer(resumeData)).toBe(true);
    await expect(task.done).rejects.toMatchObject({ name: 'AbortError' });
    const second = session();
    const result = await second.download({ resumeData: resumeData as Buffer }).done;
    expect(result.statusCode).toBe(206);
    expect(fileSha(result.location)).toBe(sha256(makeBytes(3_000_000, 11)));
    const resumed = server.seen.filter((r) => url.endsWith(r.url)).at(-1);
    expect(Number(/bytes=(\d+)-/.exec(resumed?.headers.range ?? '')?.[1])).toBeGreaterThanOrEqual(200_000);
    expect(resumed?.headers['if-range']).toBe('"v1"');
  });

  it('a resumed download cancelled while it waits for a connection keeps (or removes) its partial file', async () => {
    const first = session();
    const url = `${server.base}/file?size=1500000&seed=13&etag=v1&delay=5&chunk=16384&key=resume-waiting`;
    const task = first.download(url);
    await untilTransferred(task, 100_000);
    const resumeData = (await task.cancelByProducingResumeData()) as Buffer;
    await task.done.catch(() => undefined);
    const { partialPath, offset } = JSON.parse(resumeData.toString());
    expect(fs.statSync(partialPath).size).toBe(offset);

    // One connection per host: a slow download holds it, so the resumed task waits in the engine.
    const second = session({ HTTPMaximumConnectionsPerHost: 1 });
    const blocker = second.download(`${server.base}/file?size=50000000&seed=14&delay=20&chunk=16384`);
    blocker.done.catch(() => undefined);
    await waitFor('the blocker to hold the connection', () => server.seen.some((r) => r.url.includes('seed=14')));
    // The engine takes commands in order: the cancels below reach the task while it waits.
    const waiting = second.download({ resumeData });
    expect(waiting.state).toBe('running');
    const again = (await waiting.cancelByProducingResumeData()) as Buffer;
    await expect(waiting.done).rejects.toMatchObject({ name: 'AbortError' });
    // The same bytes, still on disk, still resumable.
    expect(Buffer.isBuffer(again)).toBe(true);
    expect(JSON.parse(again.toString())).toMatchObject({ partialPath, offset });
    expect(fs.statSync(partialPath).size).toBe(offset);

    // A plain cancel while waiting removes the partial file: nothing is left behind.
    const dropped = second.download({ resumeData: again });
    dropped.cancel();
    await expect(dropped.done).rejects.toMatchObject({ name: 'AbortError' });
    expect(fs.existsSync(partialPath)).toBe(false);
    blocker.cancel();
  });

  it('restarts from zero when the resource changed (new ETag) or the server ignores ranges', async () => {
    for (const variant of ['etag=v2', 'etag=v1&ranges=no']) {
      const s = session();
      const task = s.download(
        `${server.base}/file?size=2000000&seed=12&etag=v1&delay=5&chunk=16384&key=change-${variant}`,
      );
      await untilTransferred(task, 100_000);
      const resumeData = (await task.cancelByProducingResumeData()) as Buffer;
      await task.done.catch(() => undefined);
      // Point the resume at the changed resource: same bytes, other validator or no ranges.
      // (Resume data is signed: the test re-signs it with this process's key, as the library would.)
      const decoded = decodeResumeData(resumeData);
      decoded.url = `${server.base}/file?size=2000000&seed=12&${variant}`;
      const result = await s.download({ resumeData: encodeResumeData(decoded) }).done;
      expect(result.statusCode).toBe(200);
      expect(fileSha(result.location)).toBe(sha256(makeBytes(2_000_000, 12)));
    }
  });

  it('verifies integrity while streaming: match resolves, mismatch fails and leaves nothing', async () => {
    const s = session();
    const bytes = makeBytes(500_000, 21);
    const good = `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
    const ok = await s.download(`${server.base}/file?size=500000&seed=21`, {
      integrity: `sha256-${'A'.repeat(43)}= ${good}`,
      destination: path.join(work, 'good.bin'),
    }).done;
    expect(fileSha(ok.location)).toBe(sha256(bytes));
    const wrong = `sha256-${createHash('sha256').update('something else').digest('base64')}`;
    const error = await s
      .download(`${server.base}/file?size=500000&seed=21`, {
        integrity: wrong,
        destination: path.join(work, 'bad.bin'),
      })
      .done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(URLSession.IntegrityError);
    expect(error).toMatchObject({ code: 'ERR_URLSESSION_INTEGRITY_MISMATCH', errorCode: -4000 });
    expect(fs.readdirSync(work)).toEqual(['good.bin']);
    expect(() => s.download(`${server.base}/file`, { integrity: 'md5-abc' })).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_INVALID_ARGUMENT' }),
    );
  });
});

describe('retries', () => {
  it('retries a flaky endpoint with backoff and honours Retry-After', async () => {
    const s = session();
    const task = s.request(`${server.base}/flaky?key=r1&fails=2&status=503&retryAfter=1`, {
      retry: { limit: 3, backoff: { initial: 10 } },
    });
    const retries: URLSession.TaskRetry[] = [];
    task.on('retry', (r: URLSession.TaskRetry) => retries.push(r));
    const result = await task.done;
    expect(result.body.toString()).toBe('ok after 3');
    expect(retries).toEqual([
      { attempt: 1, delayMs: 1000, errorCode: 0, statusCode: 503 },
      { attempt: 2, delayMs: 1000, errorCode: 0, statusCode: 503 },
    ]);
  });

  it('gives up after the limit and rejects with the last HTTPError; POST is not retried by default', async () => {
    const s = session();
    const limited = s.request(`${server.base}/flaky?key=r2&fails=5&status=502`, {
      retry: { limit: 1, backoff: { initial: 1 } },
    });
    await expect(limited.done).rejects.toMatchObject({ statusCode: 502 });
    expect(server.seen.filter((r) => r.url.includes('key=r2')).length).toBe(2);
    const post = s.request(`${server.base}/flaky?key=r3&fails=1&status=503`, { method: 'POST', body: 'x' });
    await expect(post.done).rejects.toMatchObject({ statusCode: 503 });
    expect(server.seen.filter((r) => r.url.includes('key=r3')).length).toBe(1);
  });

  it('a retried download resumes from the bytes it has', async () => {
    const s = session();
    const url = `${server.base}/flaky-file?size=2000000&seed=31&etag=f1&drop=600000&key=r4`;
    const result = await s.download(url, { retry: { limit: 2, backoff: { initial: 5 } } }).done;
    expect(fileSha(result.location)).toBe(sha256(makeBytes(2_000_000, 31)));
    const attempts = server.seen.filter((r) => url.endsWith(r.url));
    expect(attempts.length).toBe(2);
    expect(Number(/bytes=(\d+)-/.exec(attempts[1].headers.range ?? '')?.[1])).toBeGreaterThan(0);
  });
});

describe('request()', () => {
  it('followRedirects: false makes the redirect the answer, for requests and downloads', async () => {
    const s = session();
    const answer = await s.request(`${server.base}/redirect/2?to=/file%3Fsize%3D10`, { followRedirects: false }).done;
    expect(answer.statusCode).toBe(302);
    expect(answer.headers.location).toBe('/redirect/1?to=%2Ffile%3Fsize%3D10');
    expect(answer.metrics.redirectCount).toBe(0);
    const followed = await s.request(`${server.base}/redirect/2?to=/file%3Fsize%3D10`).done;
    expect(followed.statusCode).toBe(200);
    expect(followed.body.length).toBe(10);
    await expect(
      s.download(`${server.base}/redirect/1?to=/file%3Fsize%3D10`, { followRedirects: false }).done,
    ).resolves.toMatchObject({ statusCode: 302 });
  });

  it('sends a JSON body and resolves with the response body', async () => {
    const s = session();
    const result = await s.request(`${server.base}/echo`, { body: { hello: 'world' }, headers: { 'X-Trace': 't1' } })
      .done;
    const echo = JSON.parse(result.body.toString());
    expect(echo).toMatchObject({ method: 'POST', text: '{"hello":"world"}' });
    expect(echo.headers['content-type']).toBe('application/json');
    expect(echo.headers['x-trace']).toBe('t1');
  });

  it('stream: true hands out a Readable whose slow consumer pauses the transfer', async () => {
    const s = session();
    const task = s.request(`${server.base}/gated?size=${BIG}&seed=41&key=stream`, { stream: true });
    const { body, statusCode } = await task.done;
    expect(statusCode).toBe(200);
    // Unread: once the Readable is full the engine must pause, so the server can only fill
    // socket buffers and then waits for 'drain'.
    await waitFor('the unread Readable to fill', () => body.readableLength >= body.readableHighWaterMark);
    await waitFor('the server to wait for a paused client', () => server.waitingForDrain.has('stream'));
    await engineWorkedThrough(s);
    // What may reach the Readable: its own high-water mark, then the engine's
    // (kStreamHighWaterBytes, native/engine/engine.h) plus the libcurl receive buffer it held when
    // it paused (kMaxDownloadBuffer, native/curl/curl_transfer.cc); 2 MiB covers those two.
    expect(body.readableLength).toBeLessThanOrEqual(body.readableHighWaterMark + 2 * 1024 * 1024);
    expect(server.written.get('stream')).toBeLessThan(BIG / 2);
    const hash = createHash('sha256');
    let length = 0;
    for await (const chunk of body) {
      hash.update(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    expect(length).toBe(BIG);
    expect(hash.digest('hex')).toBe(sha256(makeBytes(BIG, 41)));
  });

  it('uploads a file with upload() and reports the server result', async () => {
    const s = session();
    const file = path.join(freshDir(), 'up.bin');
    const bytes = makeBytes(1_500_000, 51);
    fs.writeFileSync(file, bytes);
    const task = s.upload(`${server.base}/echo`, file, { method: 'PUT' });
    let sent = 0;
    task.on('progress', (p: URLSession.TaskProgress) => {
      if (p.direction === 'upload') sent = p.transferred;
    });
    const result = await task.done;
    expect(JSON.parse(result.body.toString())).toMatchObject({
      method: 'PUT',
      length: bytes.length,
      sha256: sha256(bytes),
    });
    expect(sent).toBe(bytes.length);
  });
});

describe('configuration knobs', () => {
  it("HTTPCookieAcceptPolicy 'never' keeps no cookies", async () => {
    const s = session({ HTTPCookieAcceptPolicy: 'never' });
    await s.request(`${server.base}/set-cookie`).done;
    const echo = JSON.parse((await s.request(`${server.base}/echo`).done).body.toString());
    expect(echo.headers.cookie).toBeUndefined();
    const keeping = session();
    await keeping.request(`${server.base}/set-cookie`).done;
    const echoed = JSON.parse((await keeping.request(`${server.base}/echo`).done).body.toString());
    expect(echoed.headers.cookie).toBe('flavour=oat');
  });

  it('an explicit proxy relays requests; noProxy and direct bypass it', async () => {
    const proxy = await startProxy();
    try {
      const via = session({ proxy: { url: proxy.url } });
      const echo = JSON.parse((await via.request(`${server.base}/echo?via=proxy`).done).body.toString());
      expect(echo.headers['x-via-test-proxy']).toBe('1');
      expect(proxy.relayed).toContain(`${server.base}/echo?via=proxy`);
      const bypass = session({ proxy: { url: proxy.url, noProxy: ['127.0.0.1'] } });
      await bypass.request(`${server.base}/echo?via=bypass`).done;
      const direct = session({ proxy: 'direct' });
      await direct.request(`${server.base}/echo?via=direct`).done;
      expect(proxy.relayed.some((u) => u.includes('via=bypass') || u.includes('via=direct'))).toBe(false);
    } finally {
      await proxy.close();
    }
  });

  it('rejects bad options synchronously with codes', () => {
    const s = session();
    expect(() => s.download(`${server.base}/x`, { nope: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_UNKNOWN_OPTION' }),
    );
    expect(() => s.request(`${server.base}/x`, { signal: {} as never })).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_INVALID_ARGUMENT' }),
    );
    expect(() => s.request(`${server.base}/x`, { retry: { limit: -1 } })).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_OUT_OF_RANGE' }),
    );
    expect(() => s.download({ resumeData: Buffer.from('garbage') })).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_INVALID_RESUME_DATA' }),
    );
    expect(() => URLSession.createSessionConfiguration({ proxy: { url: 'socks5://x' } })).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_UNSUPPORTED_SCHEME' }),
    );
    expect(() => URLSession.createSessionConfiguration({ HTTPCookieAcceptPolicy: 'sometimes' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_INVALID_ARGUMENT' }),
    );
  });
});

describe('more task states and limits', () => {
  it('aborting a suspended task rejects with AbortError; aborting after completion changes nothing', async () => {
    const s = session();
    const controller = new AbortController();
    const task = s.download(`${server.base}/file?size=4000000&delay=5&chunk=16384`, { signal: controller.signal });
    await new Promise<void>((resolve) => task.once('progress', () => resolve()));
    task.suspend();
    controller.abort();
    await expect(task.done).rejects.toMatchObject({ name: 'AbortError', errorCode: -999 });
    const finished = new AbortController();
    const done = s.request(`${server.base}/echo`, { signal: finished.signal });
    const result = await done.done;
    finished.abort();
    done.cancel();
    expect(result.statusCode).toBe(200);
    expect(done.state).toBe('completed');
  });

  it('timeoutIntervalForResource ends a transfer that keeps trickling (-1001)', async () => {
    const s = session({ timeoutIntervalForResource: 1 });
    const error = await s
      .download(`${server.base}/file?size=10000000&delay=20&chunk=1024`, { retry: 0 })
      .done.catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TransferError', errorCode: -1001 });
    expect(fs.readdirSync(work)).toEqual([]);
  });

  it('HTTPMaximumConnectionsPerHost caps parallel connections to one host', async () => {
    const s = session({ HTTPMaximumConnectionsPerHost: 2 });
    const before = new Set(server.seen.map((r) => r.url));
    const tasks = Array.from({ length: 6 }, (_, i) =>
      s.download(`${server.base}/file?size=400000&delay=5&chunk=32768&key=cap${i}`),
    );
    let peak = 0;
    const timer = setInterval(() => {
      const running =
        server.seen.filter((r) => r.url.includes('key=cap') && !before.has(r.url)).length -
        tasks.filter((t) => t.state === 'completed').length;
      peak = Math.max(peak, running);
    }, 5);
    await Promise.all(tasks.map((t) => t.done));
    clearInterval(timer);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2);
  });

  it('NODE_DEBUG=urlsession logs decisions without credentials or secret headers', async () => {
    const { spawn } = await import('node:child_process');
    const script = `
      const U = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'index.js'))});
      const s = U.createSession({ configuration: U.createSessionConfiguration({ HTTPHeaderFields: { Authorization: 'Bearer s3cret-token' } }) });
      s.request(${JSON.stringify(server.base.replace('http://', 'http://user:pa55word@') + '/flaky?key=dbg&fails=1&status=503')}, { headers: { Cookie: 'session=c00kie' }, retry: { limit: 1, backoff: { initial: 1 } } })
        .done.then(() => s.finishTasksAndInvalidate());`;
    const child = spawn(process.execPath, ['-e', script], {
      env: { ...process.env, NODE_DEBUG: 'urlsession' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
    expect(log).toMatch(/URLSESSION \d+: session .* created/);
    expect(log).toMatch(/task 1 of .*: GET http:\/\/\*\*\*@127\.0\.0\.1/);
    expect(log).toMatch(/retry in \d+ ms \(error 0, status 503\)/);
    expect(log).toMatch(/completed: error 0, status 200/);
    expect(log).not.toMatch(/pa55word|s3cret-token|c00kie/);
  });
});
