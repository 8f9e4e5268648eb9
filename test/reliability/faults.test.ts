// Hostile servers and faults: every scenario ends with its documented code, no crash, no hang,
// nothing at the destination, and no leaked file descriptors or threads.
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { mountTmpfs } from '../helpers/state-folder';
import { waitFor } from '../helpers/wait-for';
import * as URLSession from '../../lib/index';
import { openFds, threadCount as threads } from '../helpers/process-stats';
import { makeCertificates, type TestCertificates } from '../helpers/tls';
import { startHostileServer, type HostileServer } from '../helpers/hostile-server';

let hostile: HostileServer;
let certs: TestCertificates;
beforeAll(async () => {
  hostile = await startHostileServer();
  certs = makeCertificates();
});
afterAll(() => hostile.close());

/** Runs one download in its own session, invalidates it, and checks that nothing leaked. */
async function fault(url: string, options: URLSession.SessionConfigurationOptions = {}) {
  const dir = tempDir('urlsession-fault-');
  const fdsBefore = openFds();
  const threadsBefore = threads();
  const session = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({ downloadDirectory: dir, ...options }),
  });
  let location: string | undefined;
  session.on('downloadcompleted', (e) => (location = e.location));
  const done = new Promise<URLSession.SessionCompletedEvent>((resolve) => session.once('sessioncompleted', resolve));
  session.downloadTask({ url });
  const event = await done;
  const invalidated = new Promise((resolve) => session.once('invalidated', resolve));
  session.finishTasksAndInvalidate();
  await invalidated;
  // The engine thread is joined and every descriptor closed (the server's side of a socket closes
  // once it has seen the client's FIN): a leak times out here.
  await waitFor('the engine thread to be joined', () => threadsBefore === undefined || threads() === threadsBefore);
  await waitFor('every descriptor to be closed', () => openFds() <= fdsBefore, 5_000);
  const files = fs.readdirSync(dir);
  return { event, files, location };
}

/** Invalidates and waits until the engine thread is gone (later tests count threads). */
async function invalidated(session: URLSession.Session): Promise<void> {
  const gone = new Promise((resolve) => session.once('invalidated', resolve));
  session.invalidateAndCancel();
  await gone;
}

describe('hostile HTTP/1.1 servers', () => {
  it.each([
    ['/reset-before-headers', -1005],
    ['/reset-mid-headers', -1005],
    ['/reset-mid-body', -1005],
    ['/length-larger', -1005],
    ['/bad-chunked', -1005],
    ['/gzip-broken', -1016],
    ['/loop', -1007],
    ['/not-http', -1011],
    ['/nul-in-header', -1011],
    ['/huge-status-line', -1011],
  ])('%s fails with %i and leaves nothing', async (route, code) => {
    const { event, files } = await fault(`${hostile.base}${route}`);
    expect(event).toMatchObject({ success: false, errorCode: code });
    expect(event.message.length).toBeGreaterThan(0);
    expect(files).toEqual([]);
  });

  it('header values in UTF-8, Latin-1 and cut-off UTF-8 arrive decoded, every later field in place', async () => {
    const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
    try {
      const result = await session.request(`${hostile.base}/odd-header-bytes`).done;
      expect(result.statusCode).toBe(200);
      expect(result.url).toBe(`${hostile.base}/odd-header-bytes`);
      expect(result.headers['x-utf8']).toBe('caf\u00e9 \u2713');
      expect(result.headers['x-latin1']).toBe('caf\ufffd');
      expect(result.headers['x-truncated']).toBe('ab\ufffd');
      expect(result.headers['x-after']).toBe('ok');
      expect(result.headers['content-length']).toBe('2');
      expect(result.body.toString()).toBe('ok');
      expect(result.metrics.protocol).toBe('http/1.1');
    } finally {
      await invalidated(session);
    }
  });

  it('header names like constructor, __proto__ and toString are plain own headers; Set-Cookie lines stay apart', async () => {
    const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
    try {
      const { headers } = await session.request(`${hostile.base}/prototype-headers`).done;
      expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
      expect(Object.hasOwn(headers, 'constructor')).toBe(true);
      expect(headers.constructor).toBe('a');
      expect(Object.hasOwn(headers, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value).toBe('b');
      expect(headers.tostring).toBe('c');
      expect(headers['set-cookie']).toEqual(['x=1', 'y=2']);
      expect(JSON.parse(JSON.stringify(headers))).toMatchObject({
        constructor: 'a',
        tostring: 'c',
        'content-length': '2',
      });
    } finally {
      await invalidated(session);
    }
  });

  it('a stall longer than the request timeout fails with -1001', async () => {
    const { event, files } = await fault(`${hostile.base}/slow-loris`, { timeoutIntervalForResource: 1.5 });
    expect(event).toMatchObject({ success: false, errorCode: -1001 });
    expect(files).toEqual([]);
  });

  it('an endless header block is cut off without a hang (-1005) or a file', async () => {
    const { event, files } = await fault(`${hostile.base}/endless-headers`);
    expect(event.success).toBe(false);
    expect([-1005, -1011]).toContain(event.errorCode);
    expect(files).toEqual([]);
  });

  it('Content-Length smaller than the body: the declared length wins', async () => {
    const { event, location } = await fault(`${hostile.base}/length-smaller`);
    expect(event).toMatchObject({ success: true, statusCode: 200 });
    expect(fs.readFileSync(location as string)).toEqual(Buffer.alloc(10, 2));
  });

  it('gzip the server sends unasked is decoded', async () => {
    const { event, location } = await fault(`${hostile.base}/gzip-unasked`);
    expect(event.success).toBe(true);
    expect(fs.readFileSync(location as string, 'utf8')).toBe('the quick brown fox '.repeat(5000));
  });

  it('100 redirects: refused at the default limit (-1007), followed with maximumRedirects 100', async () => {
    // /hops/99 answers 100 redirects (99 -> ... -> 0 -> /done).
    const refused = await fault(`${hostile.base}/hops/99`);
    expect(refused.event).toMatchObject({ success: false, errorCode: -1007 });
    const followed = await fault(`${hostile.base}/hops/99`, { maximumRedirects: 100 });
    expect(followed.event).toMatchObject({ success: true, statusCode: 200 });
    expect(fs.readFileSync(followed.location as string, 'utf8')).toBe('done');
  });

  it('a TLS handshake with something that is not TLS fails with -1200', async () => {
    const { event, files } = await fault(hostile.base.replace('http:', 'https:') + '/not-http');
    expect(event).toMatchObject({ success: false, errorCode: -1200 });
    expect(files).toEqual([]);
  });
});

describe('hostile HTTP/2 servers', () => {
  async function h2Server(
    onStream: (stream: http2.ServerHttp2Stream, session: http2.ServerHttp2Session) => void,
  ): Promise<{ base: string; close(): Promise<void> }> {
    const server = http2.createSecureServer({ key: certs.key, cert: certs.cert });
    server.on('stream', (stream) => {
      // Breaking the stream on purpose makes it emit its own error: expected, not a test failure.
      stream.on('error', () => undefined);
      onStream(stream, stream.session as http2.ServerHttp2Session);
    });
    server.on('sessionError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on('session', (s) => sessions.add(s));
    return {
      base: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      close: () =>
        new Promise((resolve) => {
          for (const s of sessions) s.destroy();
          server.close(() => resolve());
        }),
    };
  }

  it.each([
    ['RST_STREAM', (stream: http2.ServerHttp2Stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)],
    [
      'GOAWAY',
      (_stream: http2.ServerHttp2Stream, session: http2.ServerHttp2Session) =>
        session.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR),
    ],
  ] as const)('%s mid-transfer fails with -1005 and leaves nothing', async (_name, breakIt) => {
    const server = await h2Server((stream, session) => {
      stream.respond({ ':status': 200, 'content-length': '1000000' });
      stream.write(Buffer.alloc(100_000, 3));
      setTimeout(() => {
        breakIt(stream, session);
        if (_name === 'GOAWAY') setTimeout(() => session.destroy(), 20);
      }, 50);
    });
    try {
      const { event, files } = await fault(`${server.base}/x`, { tls: { ca: certs.caPem } });
      expect(event).toMatchObject({ success: false, errorCode: -1005 });
      expect(files).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('local faults', () => {
  it('a destination folder made read-only mid-transfer fails with -3005 and nothing reaches the destination', async (context) => {
    const { execFileSync } = await import('node:child_process');
    const { startTaskServer } = await import('../helpers/task-server');
    // Root ignores mode bits, so the download runs in a child without privileges (nobody).
    try {
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true'], { stdio: 'ignore' });
    } catch {
      context.skip(); // needs root to drop to another user, and setpriv (util-linux)
      return;
    }
    const server = await startTaskServer();
    const dir = tempDir('urlsession-ro-');
    fs.chmodSync(dir, 0o777);
    try {
      const script = `
        const U = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'index.js'))});
        const s = U.createSession({ configuration: U.createSessionConfiguration({ downloadDirectory: ${JSON.stringify(dir)} }) });
        let told = false;
        s.on('downloadprogress', () => { if (!told) { told = true; console.log('progress'); } });
        s.on('sessioncompleted', (e) => { console.log(JSON.stringify(e)); s.finishTasksAndInvalidate(); });
        s.downloadTask({ url: ${JSON.stringify(`${server.base}/file?size=6000000&delay=5&chunk=16384`)} });`;
      const child = spawn(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.startsWith('progress') && (fs.statSync(dir).mode & 0o777) !== 0o555) fs.chmodSync(dir, 0o555);
      });
      expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
      const event = JSON.parse(out.split('\n')[1]);
      expect(event).toMatchObject({ success: false, errorCode: -3005 });
      // Only the hidden partial file remains (it cannot be deleted from a read-only folder).
      expect(fs.readdirSync(dir).filter((f) => !f.endsWith('.partial'))).toEqual([]);
    } finally {
      fs.chmodSync(dir, 0o777);
      fs.rmSync(dir, { recursive: true, force: true });
      await server.close();
    }
  });

  it('a full disk fails with -3003, removes the partial file and leaves the session usable', async (context) => {
    const { startTaskServer } = await import('../helpers/task-server');
    const tmpfs = mountTmpfs('2m');
    if (tmpfs === undefined) {
      context.skip(); // mounting needs root (CAP_SYS_ADMIN); CI runs as root
      return;
    }
    const mountPoint = tmpfs.dir;
    const server = await startTaskServer();
    try {
      const session = URLSession.createSession({
        configuration: URLSession.createSessionConfiguration({ downloadDirectory: mountPoint }),
      });
      const done = new Promise<URLSession.SessionCompletedEvent>((resolve) =>
        session.once('sessioncompleted', resolve),
      );
      session.downloadTask({ url: `${server.base}/file?size=5000000` });
      expect(await done).toMatchObject({ success: false, errorCode: -3003 });
      expect(fs.readdirSync(mountPoint)).toEqual([]);
      const small = await session.download(`${server.base}/file?size=100000&seed=4`).done;
      expect(fs.statSync(small.location).size).toBe(100_000);
      session.invalidateAndCancel();
      await new Promise((resolve) => session.once('invalidated', resolve));
    } finally {
      await server.close();
      tmpfs.remove();
    }
  });

  it('a destination folder removed mid-transfer fails with a file code; the session stays usable', async () => {
    const { startTaskServer } = await import('../helpers/task-server');
    const server = await startTaskServer();
    try {
      const dir = tempDir('urlsession-gone-');
      const session = URLSession.createSession({
        configuration: URLSession.createSessionConfiguration({ downloadDirectory: dir }),
      });
      const task = session.download(`${server.base}/file?size=3000000&delay=5&chunk=16384`, {
        destination: path.join(dir, 'sub', 'x.bin'),
        retry: 0,
      });
      await new Promise<void>((resolve) => task.once('progress', () => resolve()));
      fs.rmSync(path.join(dir, 'sub'), { recursive: true, force: true });
      const error = await task.done.catch((e: unknown) => e as URLSession.TransferError);
      expect(error).toBeInstanceOf(URLSession.TransferError);
      expect([-3000, -3003, -3005]).toContain((error as URLSession.TransferError).errorCode);
      expect(fs.existsSync(path.join(dir, 'sub', 'x.bin'))).toBe(false);
      const again = await session.download(`${server.base}/file?size=1000`, { destination: path.join(dir, 'y.bin') })
        .done;
      expect(fs.statSync(again.location).size).toBe(1000);
      session.invalidateAndCancel();
    } finally {
      await server.close();
    }
  });

  it('an upload whose source file is deleted mid-upload sends the whole file (the open descriptor keeps it)', async () => {
    const { startTaskServer, sha256 } = await import('../helpers/task-server');
    const server = await startTaskServer();
    try {
      const file = path.join(tempDir('urlsession-src-'), 'src.bin');
      const bytes = Buffer.alloc(20_000_000, 6);
      fs.writeFileSync(file, bytes);
      const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
      const task = session.upload(`${server.base}/echo`, file, { retry: 0 });
      task.once('progress', () => fs.rmSync(file));
      const result = JSON.parse((await task.done).body.toString());
      expect(result).toMatchObject({ length: bytes.length, sha256: sha256(bytes) });
      expect(fs.existsSync(file)).toBe(false);
      session.invalidateAndCancel();
    } finally {
      await server.close();
    }
  });

  it('an upload whose source file is truncated mid-upload fails at once, never hangs', async () => {
    const { startTaskServer } = await import('../helpers/task-server');
    const server = await startTaskServer();
    try {
      const file = path.join(tempDir('urlsession-src-'), 'src.bin');
      fs.writeFileSync(file, Buffer.alloc(20_000_000, 5));
      const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
      const task = session.upload(`${server.base}/echo`, file, { retry: 0 });
      task.once('progress', () => fs.truncateSync(file, 1000));
      // Truncated under it, the upload cannot send the length it promised: it fails at once
      // (-3001, the source could not be read to its end) instead of waiting for a timeout.
      const error = await task.done.catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'TransferError', errorCode: -3001 });
      session.invalidateAndCancel();
    } finally {
      await server.close();
    }
  });
});

describe('file modes', () => {
  it('partial files are 0600 and a persistent state directory is 0700', async () => {
    const { startTaskServer } = await import('../helpers/task-server');
    const server = await startTaskServer();
    const root = tempDir('urlsession-modes-');
    try {
      const session = URLSession.createSession({
        configuration: URLSession.createSessionConfiguration({
          identifier: `modes.${process.pid}`,
          stateDirectory: path.join(root, 'state'),
          downloadDirectory: path.join(root, 'dl'),
        }),
      });
      const id = session.downloadTask({ url: `${server.base}/file?size=3000000&delay=5&chunk=16384` });
      await new Promise<void>((resolve) => session.once('downloadprogress', () => resolve()));
      const partial = fs.readdirSync(path.join(root, 'dl')).find((f) => f.endsWith('.partial')) as string;
      expect(fs.statSync(path.join(root, 'dl', partial)).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.join(root, 'state')).mode & 0o777).toBe(0o700);
      expect(fs.statSync(path.join(root, 'state', 'journal.log')).mode & 0o777).toBe(0o600);
      session.cancelTask(id);
      session.invalidateAndCancel();
      await new Promise((resolve) => session.once('invalidated', resolve));
    } finally {
      await server.close();
    }
  });
});
