// A scriptable HTTP/1.1 server for the promise-API tests: ranges with validators, throttling,
// Content-Disposition, flaky endpoints and a forward proxy. Listens on 127.0.0.1 only.
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { useStarted } from './listen';

export interface SeenRequest {
  url: string;
  method: string;
  headers: http.IncomingHttpHeaders;
  /** '1.1' or '2.0'. */
  httpVersion: string;
  /** The client's port: requests that share a connection share it. */
  remotePort: number;
}

/** Plain HTTP/1.1 by default; HTTPS with `tls`; HTTP/2 over TLS (h2 only, no fallback) with `http2`. */
export interface TaskServerOptions {
  tls?: { key: string; cert: string };
  http2?: boolean;
}

/** Deterministic bytes: byte i of resource `seed` is a function of (seed, i). */
export function makeBytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface TaskServer {
  base: string;
  seen: SeenRequest[];
  /** Bytes the server has handed to the socket for /file requests, per request key. */
  written: Map<string, number>;
  /**
   * The next /segfile Range request of `key` starting at `start` sends `bytes` and has its
   * connection closed mid-range (for a request whose offset the test learns only while it runs).
   */
  cutRangeOnce(key: string, start: number, bytes: number): void;
  /** /gated requests, per key, whose last write waits for 'drain': the socket's buffers are full. */
  waitingForDrain: Set<string>;
  /** Lets the /gated request `key` send the rest of its body (at once if it is already waiting). */
  release(key: string): void;
  /** The most requests this server has had in progress at once since resetPeakInFlight(). */
  peakInFlight(): number;
  resetPeakInFlight(): void;
  close(): Promise<void>;
}

function param(url: URL, name: string, fallback: number): number {
  const value = url.searchParams.get(name);
  return value === null ? fallback : Number(value);
}

export async function startTaskServer(options: TaskServerOptions = {}): Promise<TaskServer> {
  const seen: SeenRequest[] = [];
  const written = new Map<string, number>();
  const flaky = new Map<string, number>();
  // /segfile?cutFrom: per key, where the cut range ends and how many requests were cut.
  const cutEnds = new Map<string, { end: number; times: number }>();
  // /segfile?cutFirstAfter: per key, where the last cut of the first request's segment stopped.
  const firstCuts = new Map<string, { next: number; times: number }>();
  // cutRangeOnce: `<key>:<start>` → how many bytes that Range request sends before its cut.
  const armedCuts = new Map<string, number>();
  const bodies = new Map<string, Buffer>();
  const bytesFor = (size: number, seed: number): Buffer => {
    const key = `${size}/${seed}`;
    let body = bodies.get(key);
    if (body === undefined) bodies.set(key, (body = makeBytes(size, seed)));
    return body;
  };

  const waitingForDrain = new Set<string>();
  const released = new Set<string>();
  const gates = new Map<string, () => void>();

  let inFlight = 0;
  let peak = 0;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    peak = Math.max(peak, ++inFlight);
    res.once('close', () => inFlight--);
    seen.push({
      url: req.url ?? '',
      method: req.method ?? '',
      headers: req.headers,
      httpVersion: req.httpVersion,
      remotePort: req.socket.remotePort ?? 0,
    });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/file' || url.pathname.startsWith('/file/') || url.pathname === '/flaky-file') {
      // /file or /file/<any name>: ?size&seed&etag&delay(ms per chunk)&chunk&cd(Content-Disposition)&key&drop(bytes then reset)
      const size = param(url, 'size', 1024);
      const body = bytesFor(size, param(url, 'seed', 1));
      const etag = url.searchParams.get('etag');
      const headers: http.OutgoingHttpHeaders = {
        'content-type': 'application/octet-stream',
        'accept-ranges': 'bytes',
      };
      if (etag !== null) headers.etag = `"${etag}"`;
      const cd = url.searchParams.get('cd');
      if (cd !== null) headers['content-disposition'] = cd;
      let start = 0;
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const ifRange = req.headers['if-range'];
      if (
        range !== null &&
        (ifRange === undefined || ifRange === headers.etag) &&
        url.searchParams.get('ranges') !== 'no'
      ) {
        start = Number(range[1]);
        res.writeHead(206, {
          ...headers,
          'content-range': `bytes ${start}-${size - 1}/${size}`,
          'content-length': size - start,
        });
      } else {
        res.writeHead(200, { ...headers, 'content-length': size });
      }
      const key = url.searchParams.get('key') ?? req.url ?? '';
      const attempt = (flaky.get(key) ?? 0) + 1;
      flaky.set(key, attempt);
      const dropAt = url.pathname === '/flaky-file' && attempt === 1 ? param(url, 'drop', size / 2) : Infinity;
      const delay = param(url, 'delay', 0);
      const chunk = param(url, 'chunk', 64 * 1024);
      // The first attempt at /flaky-file stops after `drop` bytes and resets the connection.
      const limit = Math.min(size, dropAt);
      let offset = start;
      const pump = (): void => {
        while (offset < limit) {
          const end = Math.min(limit, offset + chunk);
          const ok = res.write(body.subarray(offset, end));
          written.set(key, (written.get(key) ?? 0) + (end - offset));
          offset = end;
          if (delay > 0) return void setTimeout(pump, delay);
          if (!ok) return void res.once('drain', pump);
        }
        if (limit < size) setTimeout(() => res.socket?.resetAndDestroy(), 20);
        else res.end();
      };
      pump();
      return;
    }
    if (url.pathname === '/segfile' || url.pathname.startsWith('/segfile/')) {
      // Segmented downloads: closed ranges (bytes=s-e) with If-Range, per-range pacing and the
      // answers a segmented download must fall back from. ?size&seed&key
      // &etag=<tag> (default "v1"; `none`: no validator at all) &ranges=no (no Accept-Ranges,
      // Range ignored) &rangeStatus=200 (every Range request answered 200, whole body)
      // &rangeEtag=<tag> (Range requests get 206 with this other ETag, If-Range ignored)
      // &delay&chunk (ms per chunk, bytes per chunk, every response) &slowFrom=<offset>&slowDelay
      // (only the range starting at that offset is paced by slowDelay) &cutFrom=<offset>&cutAfter=<n>
      // &cutTimes=<t> (default 1: the Range request starting at that offset, and then the ones
      // that end where it ended, t in all, each send n bytes and have their connection closed
      // mid-range; the rest are whole) &cutFirstAfter=<n> (the plain GET sends n bytes and has its
      // connection closed mid-body; with cutTimes=t the Range requests that start where the
      // previous of these cuts stopped are cut the same way, t in all).
      const size = param(url, 'size', 1024);
      const body = bytesFor(size, param(url, 'seed', 1));
      const etagParam = url.searchParams.get('etag') ?? 'v1';
      const etag = etagParam === 'none' ? undefined : `"${etagParam}"`;
      const rangesAllowed = url.searchParams.get('ranges') !== 'no';
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/octet-stream' };
      if (rangesAllowed) headers['accept-ranges'] = 'bytes';
      if (etag !== undefined) headers.etag = etag;
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      const rangeEtag = url.searchParams.get('rangeEtag');
      const ifRange = req.headers['if-range'];
      let start = 0;
      let end = size; // exclusive
      if (range !== null && rangesAllowed && url.searchParams.get('rangeStatus') !== '200') {
        const honoured = rangeEtag !== null || ifRange === undefined || ifRange === etag;
        if (honoured) {
          start = Number(range[1]);
          end = range[2] === '' ? size : Math.min(size, Number(range[2]) + 1);
          res.writeHead(206, {
            ...headers,
            ...(rangeEtag === null ? {} : { etag: `"${rangeEtag}"` }),
            'content-range': `bytes ${start}-${end - 1}/${size}`,
            'content-length': end - start,
          });
        } else {
          res.writeHead(200, { ...headers, 'content-length': size });
        }
      } else {
        res.writeHead(200, { ...headers, 'content-length': size });
      }
      // Bytes sent per request: `<key>:get` for the plain GET, `<key>:<start>` for a Range request.
      const key = `${url.searchParams.get('key') ?? ''}:${range === null ? 'get' : range[1]}`;
      const slow = range !== null && start === param(url, 'slowFrom', -1);
      const delay = slow ? param(url, 'slowDelay', 20) : param(url, 'delay', 0);
      const chunk = param(url, 'chunk', 64 * 1024);
      const cutKey = `${url.searchParams.get('key') ?? ''}`;
      const cutEnd = cutEnds.get(cutKey);
      const cut =
        range !== null &&
        (cutEnd === undefined ? start === param(url, 'cutFrom', -1) : end === cutEnd.end) &&
        (cutEnd?.times ?? 0) < param(url, 'cutTimes', 1);
      if (cut) cutEnds.set(cutKey, { end, times: (cutEnd?.times ?? 0) + 1 });
      const firstCut = firstCuts.get(cutKey);
      const cutFirst =
        url.searchParams.has('cutFirstAfter') &&
        (range === null ? firstCut === undefined : start === firstCut?.next) &&
        (firstCut?.times ?? 0) < param(url, 'cutTimes', 1);
      const armed = range === null ? undefined : armedCuts.get(`${cutKey}:${start}`);
      armedCuts.delete(`${cutKey}:${start}`);
      const cutLength = armed ?? (cutFirst ? param(url, 'cutFirstAfter', 0) : param(url, 'cutAfter', 0));
      const stopAt = cut || cutFirst || armed !== undefined ? Math.min(end, start + cutLength) : end;
      if (cutFirst) firstCuts.set(cutKey, { next: stopAt, times: (firstCut?.times ?? 0) + 1 });
      let offset = start;
      const pump = (): void => {
        if (stopAt < end) {
          // Everything before the cut reaches the client (a FIN, not a reset), then nothing.
          const part = body.subarray(offset, stopAt);
          written.set(key, (written.get(key) ?? 0) + part.length);
          return void res.write(part, () => res.socket?.destroy());
        }
        while (offset < end && !res.destroyed) {
          const stop = Math.min(end, offset + chunk);
          const ok = res.write(body.subarray(offset, stop));
          written.set(key, (written.get(key) ?? 0) + (stop - offset));
          offset = stop;
          if (delay > 0) return void setTimeout(pump, delay);
          if (!ok) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    if (url.pathname === '/gated') {
      // ?size&seed&key&first: `first` bytes, then nothing until release(key), then the rest as fast
      // as the socket takes it (no `first`: no gate). While a write waits for 'drain' the key is in
      // waitingForDrain, so a test can see a client that does not read without watching the clock;
      // the bytes sent count in `written` under `key`.
      const size = param(url, 'size', 1024);
      const body = bytesFor(size, param(url, 'seed', 1));
      const key = url.searchParams.get('key') ?? req.url ?? '';
      const gated = url.searchParams.has('first');
      const first = gated ? Math.min(size, param(url, 'first', 0)) : 0;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      let offset = 0;
      const send = (end: number): boolean => {
        const ok = res.write(body.subarray(offset, end));
        written.set(key, (written.get(key) ?? 0) + (end - offset));
        offset = end;
        return ok;
      };
      const pump = (): void => {
        waitingForDrain.delete(key);
        while (offset < size && !res.destroyed) {
          if (!send(Math.min(size, offset + 64 * 1024))) {
            waitingForDrain.add(key);
            return void res.once('drain', pump);
          }
        }
        res.end();
      };
      res.once('close', () => {
        waitingForDrain.delete(key);
        gates.delete(key);
      });
      if (first > 0) send(first);
      if (!gated || released.delete(key)) return void pump();
      gates.set(key, pump);
      return;
    }
    if (url.pathname === '/flaky') {
      // Fails `fails` times with `status` (and Retry-After when given), then answers 200.
      const key = url.searchParams.get('key') ?? '';
      const count = (flaky.get(key) ?? 0) + 1;
      flaky.set(key, count);
      if (count <= param(url, 'fails', 2)) {
        const retryAfter = url.searchParams.get('retryAfter');
        res.writeHead(param(url, 'status', 503), retryAfter === null ? {} : { 'retry-after': retryAfter });
        return void res.end('try again');
      }
      return void res.end(`ok after ${count}`);
    }
    if (url.pathname.startsWith('/status/')) {
      res.writeHead(Number(url.pathname.slice(8)), { 'x-reason': 'scripted' });
      return void res.end(`status body ${url.pathname.slice(8)}`);
    }
    if (url.pathname === '/set-cookie') {
      res.writeHead(200, { 'set-cookie': 'flavour=oat; Path=/' });
      return void res.end('set');
    }
    if (url.pathname === '/echo') {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        const body = Buffer.concat(parts);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            method: req.method,
            headers: req.headers,
            length: body.length,
            sha256: sha256(body),
            text: body.subarray(0, 256).toString(),
          }),
        );
      });
      return;
    }
    if (url.pathname.startsWith('/redirect/')) {
      // /redirect/<n>?to=<url>: n hops, then `to` (default /file?size=10).
      const left = Number(url.pathname.slice(10));
      const to = url.searchParams.get('to') ?? '/file?size=10';
      res.writeHead(302, { location: left > 1 ? `/redirect/${left - 1}?to=${encodeURIComponent(to)}` : to });
      return void res.end();
    }
    if (url.pathname === '/headers') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(req.headers));
    }
    if (url.pathname === '/drop') {
      // Headers and half the promised body, then the connection is cut.
      res.writeHead(200, { 'content-length': 1_000_000 });
      res.write(Buffer.alloc(500_000, 1));
      return void setTimeout(() => res.socket?.destroy(), 50);
    }
    if (url.pathname === '/stall') {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('x');
      return; // never finishes; the client's idle timeout must fire
    }
    if (url.pathname === '/cookies') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(req.headers.cookie ?? '');
    }
    res.writeHead(404).end();
  };
  let server: http.Server | https.Server | http2.Http2SecureServer;
  if (options.http2 && options.tls)
    server = http2.createSecureServer({ ...options.tls, allowHTTP1: false }, handler as never);
  else if (options.tls) server = https.createServer(options.tls, handler);
  else server = http.createServer(handler);
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket: import('node:net').Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    seen,
    written,
    cutRangeOnce: (key, start, bytes) => armedCuts.set(`${key}:${start}`, bytes),
    waitingForDrain,
    release: (key: string) => {
      const gate = gates.get(key);
      gates.delete(key);
      if (gate === undefined) released.add(key);
      else gate();
    },
    peakInFlight: () => peak,
    resetPeakInFlight: () => {
      peak = inFlight;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A forward proxy for plain http: records what it relays. */
export async function startProxy(): Promise<{ url: string; relayed: string[]; close(): Promise<void> }> {
  const relayed: string[] = [];
  const server = http.createServer((req, res) => {
    relayed.push(req.url ?? '');
    const target = new URL(req.url ?? '');
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: req.method,
        headers: { ...req.headers, 'x-via-test-proxy': '1' },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    relayed,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The task server of one test file (useStarted): started before its first test, closed after its last. */
export function useTaskServer(options: TaskServerOptions = {}): TaskServer {
  return useStarted(() => startTaskServer(options));
}
