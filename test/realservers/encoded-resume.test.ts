// Resuming downloads whose first response was content-encoded (issue 15, item 7). The engine
// stores decoded bytes, so a resume must count identity bytes: it asks for `identity`, with the
// Last-Modified of the encoded response as If-Range (each coding has its own ETag), and when
// the server's answer cannot continue the file (416, a 206 that is coded, for another range or
// for a changed file) the engine restarts from zero by itself. Never a failure, never lost bytes.
//
// Real servers from Debian's packages, started on 127.0.0.1 with a config written here: caddy
// (`precompressed gzip`) and h2o (`file.send-compressed`), whose ranges count the encoded bytes
// of the gzip representation, and nginx (`gzip_static`). A small TCP relay in front of them cuts
// the first response after a chosen number of bytes (a dropped connection). Our own Node server
// reproduces the same wire behaviour (and the corner cases: a server ignoring If-Range, one
// answering a coded 206 to an identity request, one answering 416) deterministically.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSessions } from '../helpers/sessions';
import * as URLSession from '../../lib/index';
import { decodeResumeData } from '../../lib/resume-data';
import { runChild } from '../helpers/child';
import { waitFor } from '../helpers/wait-for';
import { tempDir } from '../helpers/temp';
import { closeServer } from '../helpers/listen';

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const fileSha = (file: string): string => sha(fs.readFileSync(file));

/** Compressible, deterministic text of `size` bytes (gzip makes it several times smaller). */
function makeText(size: number, seed: number): Buffer {
  const words = [
    'alpha',
    'beta',
    'gamma',
    'delta',
    'resume',
    'range',
    'gzip',
    'bytes',
    'server',
    'file',
    'identity',
    'etag',
  ];
  let state = seed >>> 0;
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const word = `${words[state % words.length]}${state % 7 === 0 ? '\n' : ' '}`;
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

// ---------------------------------------------------------------------------------------------
// Our own server: one document with an identity and a gzip representation, each with its own
// strong ETag, one Last-Modified for both, ranges over whichever representation is selected and
// a strict If-Range (caddy's `precompressed` behaviour, as probed on caddy 2.6). Per-document
// quirks reproduce other servers and failures.
interface Quirks {
  /** The first response's body is cut after this many (encoded) bytes: a dropped connection. */
  cutFirstAfter?: number;
  /** The first response sends this many bytes, then stalls until the client goes away. */
  stallFirstAfter?: number;
  /** The first response trickles: 4 KiB every 10 ms. */
  trickleFirst?: boolean;
  /** h2o 2.2: If-Range is not evaluated at all. */
  ignoreIfRange?: boolean;
  /** A Range request is answered from the gzip representation even when identity is asked. */
  codedRanges?: boolean;
  /** Every Range request is answered 416. */
  refuseRanges?: boolean;
}

interface Doc {
  version: number;
  identity: Buffer;
  gzip: Buffer;
  lastModified: string;
  quirks: Quirks;
  served: number;
}

interface Seen {
  doc: string;
  range?: string;
  ifRange?: string;
  acceptEncoding?: string;
  status: number;
  coded: boolean;
}

const docs = new Map<string, Doc>();
const seen: Seen[] = [];
let server: http.Server;
let base: string;

function publish(
  name: string,
  size: number,
  seed: number,
  quirks: Quirks = {},
  lastModified = 'Tue, 01 Dec 2026 12:19:44 GMT',
): Doc {
  const identity = makeText(size, seed);
  const doc: Doc = { version: seed, identity, gzip: gzipSync(identity), lastModified, quirks, served: 0 };
  docs.set(name, doc);
  return doc;
}

function serve(req: http.IncomingMessage, res: http.ServerResponse): void {
  const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
  const doc = docs.get(name);
  if (doc === undefined) return void res.writeHead(404).end();
  const first = doc.served++ === 0;
  const acceptEncoding = req.headers['accept-encoding'];
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const coded = /\bgzip\b/.test(acceptEncoding ?? '') || (range !== null && doc.quirks.codedRanges === true);
  const body = coded ? doc.gzip : doc.identity;
  const etag = `"${coded ? 'gz' : 'id'}-${doc.version}"`;
  const ifRange = req.headers['if-range'] as string | undefined;
  const validated =
    ifRange === undefined || doc.quirks.ignoreIfRange === true || ifRange === etag || ifRange === doc.lastModified;
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'text/plain',
    etag,
    'last-modified': doc.lastModified,
    'accept-ranges': 'bytes',
    vary: 'Accept-Encoding',
    ...(coded ? { 'content-encoding': 'gzip' } : {}),
  };
  const record = (status: number): void => {
    seen.push({ doc: name, range: req.headers.range, ifRange, acceptEncoding, status, coded });
  };
  let start = 0;
  if (range !== null && validated) {
    start = Number(range[1]);
    if (doc.quirks.refuseRanges === true || start >= body.length) {
      record(416);
      return void res
        .writeHead(416, { ...headers, 'content-range': `bytes */${body.length}`, 'content-length': 0 })
        .end();
    }
    record(206);
    res.writeHead(206, {
      ...headers,
      'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      'content-length': body.length - start,
    });
  } else {
    record(200);
    res.writeHead(200, { ...headers, 'content-length': body.length });
  }
  const cut = first ? doc.quirks.cutFirstAfter : undefined;
  const stall = first ? doc.quirks.stallFirstAfter : undefined;
  if (cut !== undefined) {
    res.write(body.subarray(start, start + cut), () => res.socket?.destroy());
  } else if (stall !== undefined) {
    res.write(body.subarray(start, start + stall)); // and nothing more: the client goes away
  } else if (first && doc.quirks.trickleFirst === true) {
    let offset = start;
    const timer = setInterval(() => {
      res.write(body.subarray(offset, offset + 4096));
      offset += 4096;
      if (offset >= body.length) {
        clearInterval(timer);
        res.end();
      }
    }, 10);
    res.on('close', () => clearInterval(timer));
  } else {
    res.end(body.subarray(start));
  }
}

beforeAll(async () => {
  server = http.createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(() => closeServer(server));

const sessions = liveSessions();

function session(): { s: URLSession.Session; dir: string } {
  const dir = tempDir('urlsession-encoded-');
  const s = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({ downloadDirectory: dir, progressInterval: 1 }),
  });
  sessions.push(s);
  return { s, dir };
}

interface Resumed {
  location: string;
  errorCode: number;
  /** Whether the partial file (or, once complete, the finished one) existed at each progress event of the resumed download. */
  partialSeen: boolean[];
  progress: Array<{ total: number; expected: number }>;
}

/**
 * The first attempt fails with resume data (a dropped connection); its partial file must hold the
 * bytes the resume data names. The second, `download({ resumeData })`, must succeed, with the
 * partial file in place at every progress event until the file is complete.
 */
async function failThenResume(url: string): Promise<Resumed & { kept: number }> {
  const first = session();
  const error = await first.s.download(url, { retry: 0 }).done.then(
    () => {
      throw new Error('the first attempt was meant to be cut');
    },
    (e: URLSession.TransferError) => e,
  );
  expect(error.errorCode, error.message).toBe(URLSession.NSURLError.NetworkConnectionLost);
  expect(Buffer.isBuffer(error.resumeData), 'a cut download keeps its bytes as resume data').toBe(true);
  const state = decodeResumeData(error.resumeData);
  expect(state.offset).toBeGreaterThan(0);
  expect(fs.statSync(state.partialPath).size).toBe(state.offset);
  return { ...(await resume(state.partialPath, error.resumeData as Buffer)), kept: state.offset };
}

async function resume(partialPath: string, resumeData: Buffer): Promise<Resumed> {
  const second = session();
  const task = second.s.download({ resumeData, retry: 0 });
  const partialSeen: boolean[] = [];
  const progress: Array<{ total: number; expected: number }> = [];
  second.s.on('downloadprogress', (e) => {
    progress.push({ total: e.totalBytesWritten, expected: e.totalBytesExpectedToWrite });
    // The last events of a batch may arrive after the file moved into place (visible name).
    partialSeen.push(
      fs.existsSync(partialPath) || fs.readdirSync(path.dirname(partialPath)).some((name) => !name.startsWith('.')),
    );
  });
  let errorCode = -1;
  second.s.on('sessioncompleted', (e) => (errorCode = e.errorCode));
  const result = await task.done;
  await waitFor('sessioncompleted', () => errorCode !== -1);
  expect(fs.existsSync(partialPath), 'the partial file became the finished one').toBe(false);
  return { location: result.location, errorCode, partialSeen, progress };
}

function expectHonestProgress(progress: Array<{ total: number; expected: number }>): void {
  for (const p of progress) if (p.expected > 0) expect(p.total, JSON.stringify(p)).toBeLessThanOrEqual(p.expected);
}

describe('our server with caddy-style precompressed gzip', () => {
  it('a cut gzip download resumes with identity bytes from its decoded offset (206 in the middle of the gzip stream before)', async () => {
    const doc = publish('early-cut', 3_000_000, 11);
    doc.quirks.cutFirstAfter = Math.floor(doc.gzip.length * 0.05); // decoded offset < gzip length: a 206 of gzip bytes
    const run = await failThenResume(`${base}/early-cut`);
    expect(run.errorCode).toBe(0);
    expect(fileSha(run.location)).toBe(sha(doc.identity));
    expect(run.partialSeen.length).toBeGreaterThan(0);
    expect(run.partialSeen.every(Boolean)).toBe(true);
    expectHonestProgress(run.progress);
    const resumed = seen.filter((r) => r.doc === 'early-cut').at(-1) as Seen;
    // The resume counts identity bytes, validated by the date both representations share.
    expect(resumed).toMatchObject({
      range: `bytes=${run.kept}-`,
      ifRange: doc.lastModified,
      acceptEncoding: 'identity',
      status: 206,
      coded: false,
    });
  });

  it('a cut gzip download whose decoded bytes outnumber the gzip stream resumes too (416 before)', async () => {
    const doc = publish('late-cut', 3_000_000, 12);
    doc.quirks.cutFirstAfter = Math.floor(doc.gzip.length * 0.6);
    const run = await failThenResume(`${base}/late-cut`);
    expect(run.kept).toBeGreaterThan(doc.gzip.length);
    expect(run.errorCode).toBe(0);
    expect(fileSha(run.location)).toBe(sha(doc.identity));
    expect(run.partialSeen.every(Boolean)).toBe(true);
    expect(seen.filter((r) => r.doc === 'late-cut').at(-1)).toMatchObject({
      range: `bytes=${run.kept}-`,
      status: 206,
      coded: false,
    });
  });

  it('cancelByProducingResumeData() mid-gzip, then download({ resumeData }), gives the whole file', async () => {
    const doc = publish('cancelled', 2_000_000, 13);
    doc.quirks.stallFirstAfter = Math.floor(doc.gzip.length / 10);
    const first = session();
    const task = first.s.download(`${base}/cancelled`);
    let transferred = 0;
    task.on('progress', (p: URLSession.TaskProgress) => (transferred = p.transferred));
    await waitFor('decoded bytes on disk', () => transferred > 0);
    const resumeData = await task.cancelByProducingResumeData();
    expect(Buffer.isBuffer(resumeData)).toBe(true);
    const state = decodeResumeData(resumeData);
    expect(state.validator).toBe(doc.lastModified); // not the gzip representation's ETag
    const run = await resume(state.partialPath, resumeData as Buffer);
    expect(run.errorCode).toBe(0);
    expect(fileSha(run.location)).toBe(sha(doc.identity));
    expect(run.partialSeen.every(Boolean)).toBe(true);
  });

  it('a retry resumes a cut gzip download and succeeds', async () => {
    const doc = publish('retried', 2_000_000, 14);
    doc.quirks.cutFirstAfter = Math.floor(doc.gzip.length * 0.08);
    const { s } = session();
    const task = s.download(`${base}/retried`, { retry: { limit: 1, backoff: { initial: 0 } } });
    const retries: URLSession.TaskRetry[] = [];
    task.on('retry', (r: URLSession.TaskRetry) => retries.push(r));
    const result = await task.done;
    expect(retries.map((r) => r.errorCode)).toEqual([URLSession.NSURLError.NetworkConnectionLost]);
    expect(fileSha(result.location)).toBe(sha(doc.identity));
    expect(seen.filter((r) => r.doc === 'retried').map((r) => [r.acceptEncoding === 'identity', r.status])).toEqual([
      [false, 200],
      [true, 206],
    ]);
  });

  it('a persistent session killed mid-gzip re-attaches and finishes from the bytes on disk', async () => {
    const doc = publish('reattached', 2_000_000, 15);
    doc.quirks.trickleFirst = true;
    const root = tempDir('urlsession-encoded-bg-');
    const dirs = { stateDirectory: path.join(root, 'state'), downloadDirectory: path.join(root, 'downloads') };
    const url = `${base}/reattached`;
    // Killed a few progress events in: the journal has heard the response head by then.
    const killed = await runChild(
      { identifier: 'encoded.reattach', ...dirs, urls: [url] },
      (_line, all) => all.filter((l) => l.type === 'progress').length >= 3,
    );
    expect(killed.signal).toBe('SIGKILL');
    const partials = fs.readdirSync(dirs.downloadDirectory).filter((f) => f.endsWith('.partial'));
    expect(partials.length).toBe(1);
    const onDisk = fs.statSync(path.join(dirs.downloadDirectory, partials[0])).size;
    expect(onDisk).toBeGreaterThan(0);
    const again = await runChild({ identifier: 'encoded.reattach', ...dirs });
    const done = again.lines.find((l) => l.type === 'sessioncompleted');
    expect(done, JSON.stringify(again.lines)).toMatchObject({ id: 1, success: true, errorCode: 0 });
    const completed = again.lines.find((l) => l.type === 'downloadcompleted');
    expect(fileSha(completed?.location)).toBe(sha(doc.identity));
    for (const l of again.lines.filter((x) => x.type === 'progress'))
      if (l.expected > 0) expect(l.total).toBeLessThanOrEqual(l.expected);
    expect(seen.filter((r) => r.doc === 'reattached').at(-1)).toMatchObject({
      range: `bytes=${onDisk}-`,
      ifRange: doc.lastModified,
      acceptEncoding: 'identity',
      status: 206,
    });
  });
});

describe('answers to a Range request that cannot continue the file: the engine restarts from zero', () => {
  async function restartCase(
    name: string,
    quirks: Quirks,
    change?: (doc: Doc) => void,
  ): Promise<{ doc: Doc; run: Resumed; requests: Seen[] }> {
    const doc = publish(name, 1_500_000, 21);
    doc.quirks.cutFirstAfter = Math.floor(doc.gzip.length * 0.03); // a decoded offset inside the gzip stream
    Object.assign(doc.quirks, quirks);
    const first = session();
    const error = await first.s
      .download(`${base}/${name}`, { retry: 0 })
      .done.catch((e: URLSession.TransferError) => e);
    expect(Buffer.isBuffer((error as URLSession.TransferError).resumeData)).toBe(true);
    const resumeData = (error as URLSession.TransferError).resumeData as Buffer;
    change?.(doc);
    const run = await resume(decodeResumeData(resumeData).partialPath, resumeData);
    return { doc: docs.get(name) as Doc, run, requests: seen.filter((r) => r.doc === name) };
  }

  it('a 206 that is gzip-coded although identity was asked', async () => {
    const { doc, run, requests } = await restartCase('coded-206', { codedRanges: true });
    expect(run.errorCode).toBe(0);
    expect(fileSha(run.location)).toBe(sha(doc.identity));
    expect(requests.map((r) => [r.range === undefined, r.status])).toEqual([
      [true, 200],
      [false, 206],
      [true, 200],
    ]);
  });

  it('a 416', async () => {
    const { doc, run, requests } = await restartCase('refused', { refuseRanges: true });
    expect(run.errorCode).toBe(0);
    expect(fileSha(run.location)).toBe(sha(doc.identity));
    expect(requests.map((r) => r.status)).toEqual([200, 416, 200]);
  });

  it('a 206 from a server that ignores If-Range (h2o 2.2), for a file that changed meanwhile', async () => {
    const { run, requests } = await restartCase('changed', { ignoreIfRange: true }, () => {
      const changed = publish('changed', 1_400_000, 22, { ignoreIfRange: true }, 'Wed, 02 Dec 2026 08:00:00 GMT');
      changed.served = 1;
    });
    expect(run.errorCode).toBe(0);
    expect(fileSha(run.location)).toBe(sha((docs.get('changed') as Doc).identity));
    expect(requests.map((r) => r.status)).toEqual([200, 206, 200]);
  });
});

// ---------------------------------------------------------------------------------------------
// Real servers. Each needs its binary (CI installs caddy, h2o and nginx: .ci/run).
function binary(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name} || ls /usr/sbin/${name} 2>/dev/null`], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')[0];
  return found === '' ? undefined : found;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function untilListening(port: number, what: string): Promise<void> {
  let open = false;
  const deadline = Date.now() + 15_000;
  while (!open) {
    if (Date.now() > deadline) throw new Error(`${what} did not start listening on ${port}`);
    open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (!open) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A TCP relay to `target` that cuts the next connection's response after `cutAfter` bytes and logs request heads. */
interface Relay {
  port: number;
  cutNext(bytes: number): void;
  requests: string[];
  close(): Promise<void>;
}

async function startRelay(target: number): Promise<Relay> {
  let cut: number | undefined;
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    let limit = cut;
    cut = undefined;
    let head = '';
    client.on('data', (chunk) => {
      head += chunk.toString('latin1');
      let end: number;
      while ((end = head.indexOf('\r\n\r\n')) >= 0) {
        requests.push(head.slice(0, end));
        head = head.slice(end + 4);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (limit === undefined) return void client.write(chunk);
      const part = chunk.subarray(0, Math.max(0, limit));
      limit -= part.length;
      client.write(part);
      if (limit <= 0) {
        client.destroy();
        upstream.destroy();
      }
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    port: (relay.address() as net.AddressInfo).port,
    cutNext: (bytes) => (cut = bytes),
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        relay.close(() => resolve());
      }),
  };
}

interface RealServer {
  name: string;
  port: number;
  stop(): void;
}

const FILE = 'big.txt';
let served: { root: string; identity: Buffer; gzip: Buffer } | undefined;

/** One folder for every server: big.txt and its precompressed sidecar big.txt.gz (same mtime, as `gzip -k` leaves it). */
function servedFolder(): { root: string; identity: Buffer; gzip: Buffer } {
  if (served !== undefined) return served;
  const root = tempDir('urlsession-realservers-');
  fs.chmodSync(root, 0o755); // nginx's workers run as nobody
  const files = path.join(root, 'files');
  fs.mkdirSync(files, { mode: 0o755 });
  const identity = makeText(6_000_000, 31);
  const gzip = gzipSync(identity, { level: 9 });
  fs.writeFileSync(path.join(files, FILE), identity, { mode: 0o644 });
  fs.writeFileSync(path.join(files, `${FILE}.gz`), gzip, { mode: 0o644 });
  const mtime = new Date('2026-12-01T12:19:44Z');
  fs.utimesSync(path.join(files, FILE), mtime, mtime);
  fs.utimesSync(path.join(files, `${FILE}.gz`), mtime, mtime);
  served = { root, identity, gzip };
  return served;
}

function runDaemon(command: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { stdio: 'ignore', env: { ...process.env, ...env } });
  child.on('error', () => undefined);
  return child;
}

async function startCaddy(bin: string): Promise<RealServer> {
  const { root } = servedFolder();
  const port = await freePort();
  const home = path.join(root, 'caddy-home');
  fs.mkdirSync(home, { recursive: true });
  const config = path.join(root, 'Caddyfile');
  fs.writeFileSync(
    config,
    `{\n  admin off\n  auto_https off\n}\nhttp://127.0.0.1:${port} {\n  root * ${path.join(root, 'files')}\n  file_server {\n    precompressed gzip\n  }\n}\n`,
  );
  const child = runDaemon(bin, ['run', '--config', config, '--adapter', 'caddyfile'], {
    HOME: home,
    XDG_DATA_HOME: home,
    XDG_CONFIG_HOME: home,
  });
  await untilListening(port, 'caddy');
  return { name: 'caddy', port, stop: () => child.kill('SIGTERM') };
}

async function startH2o(bin: string): Promise<RealServer> {
  const { root } = servedFolder();
  const port = await freePort();
  const config = path.join(root, 'h2o.conf');
  // As root h2o drops to `user` (nobody by default), which may not write its pid file here.
  const user = process.getuid?.() === 0 ? 'user: root\n' : '';
  fs.writeFileSync(
    config,
    `listen:\n  host: 127.0.0.1\n  port: ${port}\n${user}error-log: ${path.join(root, 'h2o-error.log')}\nhosts:\n  default:\n    paths:\n      /:\n        file.dir: ${path.join(root, 'files')}\n        file.send-compressed: ON\n`,
  );
  const child = runDaemon(bin, ['-c', config]);
  await untilListening(port, 'h2o');
  return { name: 'h2o', port, stop: () => child.kill('SIGTERM') };
}

async function startNginx(bin: string): Promise<RealServer> {
  const { root } = servedFolder();
  const port = await freePort();
  const prefix = path.join(root, 'nginx');
  fs.mkdirSync(prefix, { recursive: true });
  const config = path.join(prefix, 'nginx.conf');
  const temp = ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t === 'body' ? 'client_body' : t}_temp_path ${path.join(prefix, t)};`)
    .join('\n');
  fs.writeFileSync(
    config,
    `worker_processes 1;\npid ${path.join(prefix, 'nginx.pid')};\nerror_log ${path.join(prefix, 'error.log')} warn;\ndaemon off;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n${temp}\n  server {\n    listen 127.0.0.1:${port};\n    root ${path.join(root, 'files')};\n    gzip_static on;\n  }\n}\n`,
  );
  const child = runDaemon(bin, ['-c', config, '-p', prefix]);
  await untilListening(port, 'nginx');
  return { name: 'nginx', port, stop: () => child.kill('SIGTERM') };
}

const real = [
  { name: 'caddy', bin: binary('caddy'), start: startCaddy, setting: 'precompressed gzip' },
  { name: 'h2o', bin: binary('h2o'), start: startH2o, setting: 'file.send-compressed' },
  { name: 'nginx', bin: binary('nginx'), start: startNginx, setting: 'gzip_static' },
];

for (const { name, bin, start, setting } of real) {
  const title =
    bin === undefined
      ? `${name} (skipped: no ${name} binary on this machine; CI installs it)`
      : `${name} (${setting}) at ${bin}`;
  describe.skipIf(bin === undefined)(title, () => {
    let daemon: RealServer;
    let relay: Relay;
    beforeAll(async () => {
      daemon = await start(bin as string);
      relay = await startRelay(daemon.port);
    });
    afterAll(async () => {
      await relay?.close();
      daemon?.stop();
    });

    it('serves the gzip representation with its own ETag and one Last-Modified for both', async () => {
      const head = (encoding: string): Promise<http.IncomingHttpHeaders> =>
        new Promise((resolve, reject) => {
          http
            .get(
              { host: '127.0.0.1', port: daemon.port, path: `/${FILE}`, headers: { 'accept-encoding': encoding } },
              (res) => {
                res.resume();
                resolve(res.headers);
              },
            )
            .on('error', reject);
        });
      const coded = await head('gzip');
      const plain = await head('identity');
      expect(coded['content-encoding']).toBe('gzip');
      expect(plain['content-encoding']).toBeUndefined();
      expect(coded.etag).not.toBe(plain.etag);
      expect(coded['last-modified']).toBe(plain['last-modified']);
    });

    for (const [when, share] of [
      ['early (the decoded offset is inside the gzip stream)', 0.05],
      ['late (the decoded offset is past the gzip stream)', 0.5],
    ] as const) {
      it(`a gzip download cut ${when} resumes into the original file`, async () => {
        const { identity, gzip } = servedFolder();
        relay.cutNext(Math.floor(gzip.length * share));
        const before = relay.requests.length;
        const run = await failThenResume(`http://127.0.0.1:${relay.port}/${FILE}`);
        expect(run.errorCode).toBe(0);
        expect(fileSha(run.location)).toBe(sha(identity));
        expect(run.partialSeen.every(Boolean)).toBe(true);
        expectHonestProgress(run.progress);
        const resumed = relay.requests.slice(before)[1] ?? '';
        expect(resumed).toMatch(new RegExp(`\\r\\nRange: bytes=${run.kept}-`, 'i'));
        expect(resumed).toMatch(/\r\nAccept-Encoding: identity/i);
      });
    }
  });
}
