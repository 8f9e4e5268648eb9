// The Titanium-compatible surface against a real HTTP/1.1 server on 127.0.0.1: every method,
// event and field, the failure codes, invalidation, identity, reset/flush and bad arguments.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir as newTempDir } from '../helpers/temp';
import { waitFor } from '../helpers/wait-for';
import { liveSessions } from '../helpers/sessions';
import * as URLSession from '../../lib/index';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';

const server = useTaskServer();
const live = liveSessions();
let counter = 0;

const tempDir = (): string => newTempDir('urlsession-ti-');
const fileSha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function newSession(options: URLSession.SessionConfigurationOptions = {}): {
  session: URLSession.Session;
  dir: string;
} {
  const dir = tempDir();
  const configuration = URLSession.createSessionConfiguration({
    identifier: `ti.test.${process.pid}.${++counter}`,
    persistent: false,
    downloadDirectory: dir,
    ...options,
  });
  const session = URLSession.createSession({ configuration });
  live.push(session);
  return { session, dir };
}

type Recorded = { name: string; event: any };
/** Records every Titanium event of a session, in order, until sessioneventscompleted. */
function record(session: URLSession.Session): Promise<Recorded[]> {
  const events: Recorded[] = [];
  for (const name of ['downloadprogress', 'downloadcompleted', 'uploadprogress', 'sessioncompleted'] as const) {
    session.on(name, (event: any) => events.push({ name, event }));
  }
  return new Promise((resolve) =>
    session.once('sessioneventscompleted', (event) => {
      events.push({ name: 'sessioneventscompleted', event });
      resolve(events);
    }),
  );
}

const completion = (events: Recorded[], id: number): URLSession.SessionCompletedEvent =>
  events.find((e) => e.name === 'sessioncompleted' && e.event.taskIdentifier === id)?.event;

describe('downloadTask', () => {
  it('delivers progress, then downloadcompleted, then sessioncompleted, with Titanium field names', async () => {
    const { session, dir } = newSession({ progressInterval: 0 });
    const done = record(session);
    const id = session.downloadTask({ url: `${server.base}/file?size=2000000&seed=81` });
    expect(id).toBe(1);
    const events = await done;
    const names = events.map((e) => e.name);
    const lastProgress = names.lastIndexOf('downloadprogress');
    // Progress came (a fast loopback may carry 2 MB in one batch: one event), every event before downloadcompleted.
    expect(names.filter((n) => n === 'downloadprogress').length).toBeGreaterThan(0);
    expect(names.indexOf('downloadcompleted')).toBe(lastProgress + 1);
    expect(names.slice(lastProgress + 1)).toEqual(['downloadcompleted', 'sessioncompleted', 'sessioneventscompleted']);
    const progress = events.filter((e) => e.name === 'downloadprogress').map((e) => e.event);
    expect(Object.keys(progress[0]).sort()).toEqual([
      'bytesPerSecond',
      'bytesWritten',
      'secondsRemaining',
      'sessionIdentifier',
      'taskIdentifier',
      'totalBytesExpectedToWrite',
      'totalBytesWritten',
    ]);
    expect(progress.reduce((sum, p) => sum + p.bytesWritten, 0)).toBe(2_000_000);
    expect(progress.at(-1)).toMatchObject({
      taskIdentifier: id,
      totalBytesWritten: 2_000_000,
      totalBytesExpectedToWrite: 2_000_000,
      sessionIdentifier: session.identifier,
    });
    const completed = events.find((e) => e.name === 'downloadcompleted')?.event as URLSession.DownloadCompletedEvent;
    expect(completed).toMatchObject({ taskIdentifier: id, sessionIdentifier: session.identifier, statusCode: 200 });
    expect(path.isAbsolute(completed.location)).toBe(true);
    expect(path.dirname(completed.location)).toBe(dir);
    expect(completed.data).toBeInstanceOf(Blob);
    expect(completed.data.size).toBe(2_000_000);
    expect(sha256(Buffer.from(await completed.data.arrayBuffer()))).toBe(sha256(makeBytes(2_000_000, 81)));
    expect(completion(events, id)).toEqual({
      taskIdentifier: id,
      sessionIdentifier: session.identifier,
      success: true,
      errorCode: 0,
      message: '',
      statusCode: 200,
    });
  });

  it('reports 404 and 500 as statusCode with success (HTTP errors are not transport errors)', async () => {
    const { session } = newSession();
    const done = record(session);
    const a = session.downloadTask({ url: `${server.base}/status/404` });
    const b = session.downloadTask({ url: `${server.base}/status/500` });
    const events = await done;
    expect(completion(events, a)).toMatchObject({ success: true, statusCode: 404, errorCode: 0 });
    expect(completion(events, b)).toMatchObject({ success: true, statusCode: 500, errorCode: 0 });
    const file = events.find((e) => e.name === 'downloadcompleted' && e.event.taskIdentifier === a)?.event.location;
    expect(fs.readFileSync(file, 'utf8')).toBe('status body 404');
  });

  it('follows redirects; refuses a redirect to another scheme (-1002) and too many (-1007)', async () => {
    const { session, dir } = newSession({ maximumRedirects: 3 });
    const done = record(session);
    const ok = session.downloadTask({
      url: `${server.base}/redirect/3?to=${encodeURIComponent('/file?size=5000&seed=82')}`,
    });
    const ftp = session.downloadTask({
      url: `${server.base}/redirect/1?to=${encodeURIComponent('ftp://127.0.0.1/x')}`,
    });
    const many = session.downloadTask({ url: `${server.base}/redirect/5` });
    const events = await done;
    const completed = events.find((e) => e.name === 'downloadcompleted' && e.event.taskIdentifier === ok)?.event;
    expect(fileSha(completed.location)).toBe(sha256(makeBytes(5000, 82)));
    expect(completion(events, ftp)).toMatchObject({ success: false, errorCode: -1002 });
    expect(completion(events, many)).toMatchObject({ success: false, errorCode: -1007 });
    expect(fs.readdirSync(dir)).toEqual([path.basename(completed.location)]);
  });

  it('connection refused (-1004), dropped mid-body (-1005), stalled (-1001): no file left', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const { session, dir } = newSession({ timeoutIntervalForRequest: 1 });
    const done = record(session);
    const refused = session.downloadTask({ url: `http://127.0.0.1:${closed}/x` });
    const dropped = session.downloadTask({ url: `${server.base}/drop` });
    const stalled = session.downloadTask({ url: `${server.base}/stall` });
    const events = await done;
    expect(completion(events, refused)).toMatchObject({ success: false, errorCode: -1004, statusCode: 0 });
    expect(completion(events, dropped)).toMatchObject({ success: false, errorCode: -1005 });
    expect(completion(events, stalled)).toMatchObject({ success: false, errorCode: -1001 });
    for (const id of [refused, dropped, stalled]) expect(completion(events, id).message.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.name === 'downloadcompleted')).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('cancelTask ends a running task with -999 and leaves nothing', async () => {
    const { session, dir } = newSession();
    const done = record(session);
    const id = session.downloadTask({ url: `${server.base}/file?size=5000000&delay=10&chunk=16384` });
    session.once('downloadprogress', () => expect(session.cancelTask(id)).toBe(true));
    const events = await done;
    expect(completion(events, id)).toMatchObject({ success: false, errorCode: -999 });
    expect(session.cancelTask(id)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('256 MiB download', () => {
  it('arrives byte-exact while the downloading process keeps its memory bounded', async () => {
    const { spawn } = await import('node:child_process');
    const dir = tempDir();
    const size = 256 * 1024 * 1024;
    const child = spawn(
      process.execPath,
      [path.join(__dirname, 'fixtures', 'download-child.js'), `${server.base}/file?size=${size}&seed=83`, dir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.statusCode).toBe(200);
    expect(fileSha(report.location)).toBe(sha256(makeBytes(size, 83)));
    // The file never passes through JS: the child's peak RSS stays far below the file size
    // (measured here: about 60 MiB, i.e. node itself).
    // Under AddressSanitizer (npm run test:asan) shadow memory inflates RSS: bounds are moot there.
    if (!process.env.URLSESSION_SANITIZER) expect(report.maxRssMiB).toBeLessThan(128);
    process.stderr.write(
      `256 MiB download: ${report.mbPerSecond.toFixed(0)} MB/s, child peak RSS ${report.maxRssMiB.toFixed(0)} MiB\n`,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('uploadTask and dataTask', () => {
  it('uploads from a file path, a Buffer, a Uint8Array and a Blob; the server sees every byte', async () => {
    const { session } = newSession();
    const bytes = makeBytes(3_000_000, 84);
    const file = path.join(tempDir(), 'up.bin');
    fs.writeFileSync(file, bytes);
    const done = record(session);
    const ids = [
      session.uploadTask({ url: `${server.base}/echo`, data: file }),
      session.uploadTask({ url: `${server.base}/echo`, data: bytes, method: 'PUT' }),
      session.uploadTask({
        url: `${server.base}/echo`,
        data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
      }),
      session.uploadTask({ url: `${server.base}/echo`, data: new Blob([bytes]) }),
    ];
    const events = await done;
    const methods = ['POST', 'PUT', 'POST', 'POST'];
    ids.forEach((id, i) => {
      const result = completion(events, id);
      expect(result).toMatchObject({ success: true, statusCode: 200 });
      expect(JSON.parse(result.responseText as string)).toMatchObject({
        method: methods[i],
        length: bytes.length,
        sha256: sha256(bytes),
      });
      const progress = events
        .filter((e) => e.name === 'uploadprogress' && e.event.taskIdentifier === id)
        .map((e) => e.event);
      expect(progress.at(-1)).toMatchObject({
        totalBytesSent: bytes.length,
        totalBytesExpectedToSend: bytes.length,
        sessionIdentifier: session.identifier,
      });
      expect(progress.map((p) => p.totalBytesSent)).toEqual(
        [...progress.map((p) => p.totalBytesSent)].sort((a, b) => a - b),
      );
      expect(progress.reduce((sum, p) => sum + p.bytesSent, 0)).toBe(bytes.length);
    });
  });

  it('an upload from a missing file fails with -1100', async () => {
    const { session } = newSession();
    const done = record(session);
    const id = session.uploadTask({ url: `${server.base}/echo`, data: path.join(tempDir(), 'missing.bin') });
    expect(completion(await done, id)).toMatchObject({ success: false, errorCode: -1100 });
  });

  it('dataTask sends a plain object as JSON, text as is, and defaults to GET without data', async () => {
    const { session } = newSession();
    const done = record(session);
    const json = session.dataTask({ url: `${server.base}/echo`, data: { a: 1, b: [2] } });
    const text = session.dataTask({ url: `${server.base}/echo`, data: 'plain', method: 'PATCH' });
    const get = session.dataTask({ url: `${server.base}/echo` });
    const events = await done;
    expect(JSON.parse(completion(events, json).responseText as string)).toMatchObject({
      method: 'POST',
      text: '{"a":1,"b":[2]}',
      headers: { 'content-type': 'application/json' },
    });
    expect(JSON.parse(completion(events, text).responseText as string)).toMatchObject({
      method: 'PATCH',
      text: 'plain',
    });
    expect(JSON.parse(completion(events, get).responseText as string)).toMatchObject({ method: 'GET', length: 0 });
  });

  it('merges HTTPHeaderFields under requestHeaders (the request wins, whatever the case)', async () => {
    const configuration = URLSession.createSessionConfiguration({
      identifier: `ti.headers.${process.pid}`,
      persistent: false,
      HTTPHeaderFields: { 'X-App': 'one' },
    });
    configuration.HTTPHeaderFields = { ...configuration.HTTPHeaderFields, 'X-Shared': 'session', 'X-Other': 'kept' };
    const session = URLSession.createURLSession(configuration);
    live.push(session);
    const done = record(session);
    const id = session.dataTask({
      url: `${server.base}/headers`,
      requestHeaders: { 'x-shared': 'request', 'X-Extra': 'e' },
    });
    const headers = JSON.parse(completion(await done, id).responseText as string);
    expect(headers).toMatchObject({ 'x-app': 'one', 'x-shared': 'request', 'x-other': 'kept', 'x-extra': 'e' });
  });
});

describe('sessions', () => {
  it('same identifier while live returns the same object; a new one after invalidation', async () => {
    const identifier = `ti.identity.${process.pid}`;
    const config = URLSession.createSessionConfiguration({ identifier, persistent: false });
    const first = URLSession.createSession({ configuration: config });
    expect(URLSession.createURLSession(URLSession.createSessionConfiguration({ identifier, persistent: false }))).toBe(
      first,
    );
    const invalidated = new Promise((resolve) => first.once('invalidated', resolve));
    first.finishTasksAndInvalidate();
    expect(() => URLSession.createSession({ configuration: config })).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_IDENTIFIER_BUSY' }),
    );
    expect(await invalidated).toEqual({ sessionIdentifier: identifier });
    const second = URLSession.createSession({ configuration: config });
    expect(second).not.toBe(first);
    second.invalidateAndCancel();
  });

  it('finishTasksAndInvalidate lets running tasks finish; invalidateAndCancel cancels them; later calls throw', async () => {
    const a = newSession();
    const aDone = record(a.session);
    const finishing = a.session.downloadTask({ url: `${server.base}/file?size=1000000&delay=2&chunk=65536` });
    a.session.finishTasksAndInvalidate();
    const aInvalidated = new Promise((resolve) => a.session.once('invalidated', resolve));
    expect(() => a.session.downloadTask({ url: `${server.base}/file` })).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_SESSION_INVALIDATED' }),
    );
    expect(() => a.session.finishTasksAndInvalidate()).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_SESSION_INVALIDATED' }),
    );
    expect(completion(await aDone, finishing)).toMatchObject({ success: true, statusCode: 200 });
    await aInvalidated;
    expect(a.session.state).toBe('invalidated');
    expect(() => a.session.reset()).toThrow(expect.objectContaining({ code: 'ERR_URLSESSION_SESSION_INVALIDATED' }));

    const b = newSession();
    const bDone = record(b.session);
    const cancelled = b.session.downloadTask({ url: `${server.base}/file?size=5000000&delay=10&chunk=16384` });
    const order: string[] = [];
    b.session.on('sessioncompleted', () => order.push('sessioncompleted'));
    b.session.on('invalidated', () => order.push('invalidated'));
    b.session.invalidateAndCancel();
    expect(completion(await bDone, cancelled)).toMatchObject({ success: false, errorCode: -999 });
    await waitFor('invalidated', () => order.includes('invalidated'));
    expect(order).toEqual(['sessioncompleted', 'invalidated']);
    expect(fs.readdirSync(b.dir)).toEqual([]);
  });

  it('reset and flush: callbacks and promises; cookies kept, written to the jar, then emptied', async () => {
    const state = tempDir();
    const { session } = newSession({ stateDirectory: state });
    const get = (url: string): Promise<string> =>
      new Promise((resolve) => {
        const id = session.dataTask({ url });
        const listener = (e: URLSession.SessionCompletedEvent): void => {
          if (e.taskIdentifier !== id) return;
          session.off('sessioncompleted', listener);
          resolve(e.responseText as string);
        };
        session.on('sessioncompleted', listener);
      });
    await get(`${server.base}/set-cookie`);
    expect(await get(`${server.base}/cookies`)).toBe('flavour=oat');
    const flushed = await new Promise((resolve) => session.flush(resolve));
    expect(flushed).toEqual({ completed: true });
    // The curl engine keeps its jar in stateDirectory; NSURLSession keeps cookies in Foundation's
    // per-session store, which has no file of ours to look at.
    if (URLSession.engine === 'curl')
      expect(fs.readFileSync(path.join(state, 'cookies.txt'), 'utf8')).toContain('flavour\toat');
    await expect(session.reset()).resolves.toEqual({ completed: true });
    if (URLSession.engine === 'curl') expect(fs.existsSync(path.join(state, 'cookies.txt'))).toBe(false);
    expect(await get(`${server.base}/cookies`)).toBe('');
    await expect(session.flush()).resolves.toEqual({ completed: true });
  });

  it('the module-wide emitter hears every session, with sessionIdentifier', async () => {
    const one = newSession();
    const two = newSession();
    const heard: Array<[string, number]> = [];
    const listener = (e: URLSession.SessionCompletedEvent): void =>
      void heard.push([e.sessionIdentifier, e.taskIdentifier]);
    URLSession.on('sessioncompleted', listener);
    try {
      const waits = [record(one.session), record(two.session)];
      one.session.dataTask({ url: `${server.base}/echo` });
      two.session.dataTask({ url: `${server.base}/echo` });
      await Promise.all(waits);
      expect(heard.sort()).toEqual(
        [
          [one.session.identifier, 1],
          [two.session.identifier, 1],
        ].sort(),
      );
    } finally {
      URLSession.off('sessioncompleted', listener);
    }
  });
});

describe('bad arguments throw synchronously with stable codes', () => {
  const cases: Array<[string, () => unknown, string, 'TypeError' | 'RangeError' | 'Error']> = [];
  const s = (): URLSession.Session => newSession().session;
  cases.push(['missing url', () => s().downloadTask({} as never), 'ERR_URLSESSION_INVALID_URL', 'TypeError']);
  cases.push(['relative url', () => s().downloadTask({ url: '/x' }), 'ERR_URLSESSION_INVALID_URL', 'TypeError']);
  cases.push([
    'ftp url',
    () => s().downloadTask({ url: 'ftp://127.0.0.1/x' }),
    'ERR_URLSESSION_UNSUPPORTED_SCHEME',
    'TypeError',
  ]);
  cases.push([
    'file url',
    () => s().dataTask({ url: 'file:///etc/passwd' }),
    'ERR_URLSESSION_UNSUPPORTED_SCHEME',
    'TypeError',
  ]);
  cases.push([
    'CRLF in a header value',
    () => s().dataTask({ url: 'http://127.0.0.1/', requestHeaders: { 'X-A': 'a\r\nInjected: 1' } }),
    'ERR_URLSESSION_INVALID_HEADER',
    'TypeError',
  ]);
  cases.push([
    'NUL in a header value',
    () => s().dataTask({ url: 'http://127.0.0.1/', requestHeaders: { 'X-A': 'a\0' } }),
    'ERR_URLSESSION_INVALID_HEADER',
    'TypeError',
  ]);
  cases.push([
    'bad header name',
    () => s().dataTask({ url: 'http://127.0.0.1/', requestHeaders: { 'X A': 'a' } }),
    'ERR_URLSESSION_INVALID_HEADER',
    'TypeError',
  ]);
  cases.push([
    'non-string header value',
    () => s().dataTask({ url: 'http://127.0.0.1/', requestHeaders: { 'X-A': 1 as never } }),
    'ERR_URLSESSION_INVALID_HEADER',
    'TypeError',
  ]);
  cases.push([
    'CRLF in HTTPHeaderFields',
    () => URLSession.createSessionConfiguration({ HTTPHeaderFields: { 'X-A': 'a\nb' } }),
    'ERR_URLSESSION_INVALID_HEADER',
    'TypeError',
  ]);
  cases.push([
    'unknown option',
    () => s().downloadTask({ url: 'http://127.0.0.1/', nope: 1 } as never),
    'ERR_URLSESSION_UNKNOWN_OPTION',
    'TypeError',
  ]);
  cases.push([
    'unknown configuration option',
    () => URLSession.createSessionConfiguration({ identifer: 'typo' } as never),
    'ERR_URLSESSION_UNKNOWN_OPTION',
    'TypeError',
  ]);
  cases.push([
    'arguments not an object',
    () => s().downloadTask('http://127.0.0.1/' as never),
    'ERR_URLSESSION_INVALID_ARGUMENT',
    'TypeError',
  ]);
  cases.push([
    'upload without data',
    () => s().uploadTask({ url: 'http://127.0.0.1/' } as never),
    'ERR_URLSESSION_INVALID_ARGUMENT',
    'TypeError',
  ]);
  cases.push([
    'upload data of a wrong type',
    () => s().uploadTask({ url: 'http://127.0.0.1/', data: 42 as never }),
    'ERR_URLSESSION_INVALID_ARGUMENT',
    'TypeError',
  ]);
  cases.push([
    'bad method',
    () => s().dataTask({ url: 'http://127.0.0.1/', method: 'GE T' }),
    'ERR_URLSESSION_INVALID_ARGUMENT',
    'TypeError',
  ]);
  cases.push([
    'negative timeout',
    () => URLSession.createSessionConfiguration({ timeoutIntervalForRequest: -1 }),
    'ERR_URLSESSION_OUT_OF_RANGE',
    'RangeError',
  ]);
  cases.push([
    'zero connections',
    () => URLSession.createSessionConfiguration({ HTTPMaximumConnectionsPerHost: 0 }),
    'ERR_URLSESSION_OUT_OF_RANGE',
    'RangeError',
  ]);
  cases.push([
    'timeout of a wrong type',
    () => URLSession.createSessionConfiguration({ timeoutIntervalForRequest: '5' as never }),
    'ERR_URLSESSION_INVALID_ARGUMENT',
    'TypeError',
  ]);
  cases.push([
    'configuration not from createSessionConfiguration',
    () => URLSession.createURLSession({ identifier: 'x' } as never),
    'ERR_URLSESSION_INVALID_ARGUMENT',
    'TypeError',
  ]);
  cases.push([
    'writing identifier',
    () => {
      (URLSession.createSessionConfiguration({ identifier: 'ro' }) as any).identifier = 'other';
    },
    'ERR_URLSESSION_READ_ONLY',
    'TypeError',
  ]);
  cases.push(['cancelTask with a non-integer', () => s().cancelTask(1.5), 'ERR_URLSESSION_OUT_OF_RANGE', 'RangeError']);
  cases.push([
    'reset with a non-function',
    () => s().reset(42 as never),
    'ERR_URLSESSION_INVALID_ARGUMENT',
    'TypeError',
  ]);
  cases.push([
    'tls.ca that is not PEM',
    () => URLSession.createSessionConfiguration({ tls: { ca: 'nope' } }),
    'ERR_URLSESSION_INVALID_ARGUMENT',
    'TypeError',
  ]);
  cases.push([
    'malformed pin',
    () => URLSession.createSessionConfiguration({ tls: { pinnedPublicKeys: ['abc'] } }),
    'ERR_URLSESSION_INVALID_ARGUMENT',
    'TypeError',
  ]);
  it.each(cases)('%s', (_name, call, code, kind) => {
    let thrown: unknown;
    try {
      call();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf({ TypeError, RangeError, Error }[kind]);
    expect((thrown as { code: string }).code).toBe(code);
    expect((thrown as Error).message.length).toBeGreaterThan(10);
  });
});
