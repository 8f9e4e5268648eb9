// Bodies kept in memory are bounded: a gzip bomb or an endless body fails with -1103 once it
// passes maximumResponseSize (default 64 MiB) and the bytes are freed; every completion is
// still delivered. Streamed bodies and downloads are not limited.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { liveSessions } from '../helpers/sessions';
import * as URLSession from '../../lib/index';
import { listenLocal, closeServer } from '../helpers/listen';

const MiB = 1024 * 1024;
let base: string;
let server: http.Server;
let bomb: Buffer; // gzip of 1 GiB of zeros: about 1 MB on the wire
const sessions = liveSessions();

function gzipOfZeros(bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const gzip = createGzip({ level: zlibConstants.Z_BEST_COMPRESSION });
    const parts: Buffer[] = [];
    gzip.on('data', (part: Buffer) => parts.push(part));
    gzip.on('end', () => resolve(Buffer.concat(parts)));
    gzip.on('error', reject);
    const zeros = Buffer.alloc(MiB);
    let left = bytes / MiB;
    const pump = (): void => {
      while (left > 0) {
        left--;
        if (!gzip.write(zeros)) return void gzip.once('drain', pump);
      }
      gzip.end();
    };
    pump();
  });
}

beforeAll(async () => {
  bomb = await gzipOfZeros(1024 * MiB);
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/bomb') {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length });
      return void res.end(bomb);
    }
    const size = Number(url.searchParams.get('size') ?? 0);
    if (url.pathname === '/declared') {
      // Declares a length over the limit; the client must not wait for the bytes.
      res.writeHead(200, { 'content-length': size });
      return void res.write(Buffer.alloc(10, 1));
    }
    // /body?size: that many bytes, chunked (no length known in advance), written with backpressure.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let left = size;
    const chunk = Buffer.alloc(Math.min(MiB, Math.max(size, 1)), 0x61);
    const pump = (): void => {
      while (left > 0) {
        const piece = chunk.subarray(0, Math.min(left, chunk.length));
        left -= piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => (left = 0));
    pump();
  });
  base = await listenLocal(server);
});
afterAll(() => closeServer(server));

function session(options: URLSession.SessionConfigurationOptions = {}): URLSession.Session {
  const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration(options) });
  sessions.push(s);
  return s;
}

/** Runs `code` in a fresh Node process (with the built library as `URLSession`); returns its JSON lines. */
function inChild(code: string, deadlineMs = 60_000): Promise<{ lines: any[]; timedOut: boolean; code: number | null }> {
  const script = `const URLSession = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'index.js'))});
const print = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const peakRss = () => Number(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
${code}`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const guard = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.on('exit', (exitCode) => {
      clearTimeout(guard);
      resolve({
        lines: out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
        timedOut,
        code: exitCode,
      });
    });
  });
}

describe('bodies kept in memory', () => {
  it('a gzip bomb (1 MB inflating to 1 GiB) fails request() with -1103 at the default 64 MiB, with memory bounded', async () => {
    const run = await inChild(`
      const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
      s.request(${JSON.stringify(`${base}/bomb`)}, { retry: 0 }).done.then(
        (r) => print({ ok: true, length: r.body.length, peak: peakRss() }),
        (e) => print({ ok: false, errorCode: e.errorCode, message: e.message, peak: peakRss() }),
      ).finally(() => s.invalidateAndCancel());`);
    expect(run.timedOut).toBe(false);
    expect(run.lines[0]).toMatchObject({ ok: false, errorCode: -1103 });
    expect(run.lines[0].message).toMatch(/maximumResponseSize/);
    // 64 MiB of body at most, plus Node and libcurl: far below the 1 GiB the bomb inflates to.
    if (!process.env.URLSESSION_SANITIZER) expect(run.lines[0].peak).toBeLessThan(400 * MiB); // ASan inflates RSS
  });

  it("Titanium's dataTask gets its sessioncompleted with -1103 for a bomb; the session goes on", async () => {
    const s = session();
    const events: URLSession.SessionCompletedEvent[] = [];
    s.on('sessioncompleted', (e) => events.push(e));
    const bombId = s.dataTask({ url: `${base}/bomb` });
    const okId = s.dataTask({ url: `${base}/body?size=1000` });
    await new Promise<void>((resolve) => s.on('sessioncompleted', () => events.length === 2 && resolve()));
    expect(events.find((e) => e.taskIdentifier === bombId)).toMatchObject({
      success: false,
      errorCode: -1103,
      responseText: '',
    });
    expect(events.find((e) => e.taskIdentifier === okId)).toMatchObject({
      success: true,
      responseText: 'a'.repeat(1000),
    });
  });

  it('maximumResponseSize is exact, per session and per request, and a declared length over it fails at once', async () => {
    const s = session({ maximumResponseSize: 1000 });
    expect((await s.request(`${base}/body?size=1000`).done).body.length).toBe(1000);
    await expect(s.request(`${base}/body?size=1001`, { retry: 0 }).done).rejects.toMatchObject({ errorCode: -1103 });
    expect((await s.request(`${base}/body?size=5000`, { maximumResponseSize: 5000 }).done).body.length).toBe(5000);
    await expect(s.upload(`${base}/body?size=2000`, Buffer.from('x'), { retry: 0 }).done).rejects.toMatchObject({
      errorCode: -1103,
    });
    // 100 MB declared, 10 bytes sent, then silence: fails without waiting for the timeout.
    await expect(s.request(`${base}/declared?size=100000000`, { retry: 0, timeout: 30 }).done).rejects.toMatchObject({
      errorCode: -1103,
    });
  });

  it('streamed bodies and downloads are not limited by maximumResponseSize', async () => {
    const dir = tempDir('urlsession-limit-');
    const s = session({ maximumResponseSize: 1000, downloadDirectory: dir });
    const streamed = await s.request(`${base}/body?size=300000`, { stream: true }).done;
    let length = 0;
    for await (const piece of streamed.body) length += (piece as Buffer).length;
    expect(length).toBe(300_000);
    const downloaded = await s.download(`${base}/body?size=300000`).done;
    expect(fs.statSync(downloaded.location).size).toBe(300_000);
  });

  it('bad limits are refused with coded errors', () => {
    for (const value of [0, -1, 1.5, Number.POSITIVE_INFINITY]) {
      expect(() => URLSession.createSessionConfiguration({ maximumResponseSize: value })).toThrow(
        expect.objectContaining({ name: 'RangeError', code: 'ERR_URLSESSION_OUT_OF_RANGE' }),
      );
    }
    expect(() => URLSession.createSessionConfiguration({ maximumResponseSize: '1' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_INVALID_ARGUMENT' }),
    );
    const s = session();
    expect(() => s.request(`${base}/body`, { maximumResponseSize: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_OUT_OF_RANGE' }),
    );
  });

  for (const persistent of [false, true]) {
    it(`a body longer than a JavaScript string (limit raised to 600 MiB${persistent ? ', persistent session' : ''}) still completes: -1103 for responseText, no lost event`, async () => {
      const state = tempDir('urlsession-limit-state-');
      const configuration = {
        maximumResponseSize: 600 * MiB,
        ...(persistent ? { identifier: `limit.${process.pid}`, stateDirectory: state } : {}),
      };
      const run = await inChild(
        `
        const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration(${JSON.stringify(configuration)}) });
        process.on('uncaughtException', (e) => print({ uncaught: e.code || e.message }));
        s.on('sessioncompleted', (e) => print({ id: e.taskIdentifier, success: e.success, errorCode: e.errorCode, textLength: e.responseText.length }));
        s.on('invalidated', () => print({ invalidated: true }));
        s.dataTask({ url: ${JSON.stringify(`${base}/body?size=${560 * MiB}`)} });
        s.finishTasksAndInvalidate();`,
        120_000,
      );
      expect(run.timedOut).toBe(false);
      expect(run.lines).toEqual([{ id: 1, success: false, errorCode: -1103, textLength: 0 }, { invalidated: true }]);
    }, 150_000);
  }
});
