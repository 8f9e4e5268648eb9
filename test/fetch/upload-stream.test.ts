// Request bodies streamed from JS (lib/request-body-stream.ts over native/core/body_stream.*):
// fetch with a ReadableStream and duplex: 'half', request({ body: stream }), upload(url,
// stream). Real servers on 127.0.0.1 see the exact bytes (sha256), chunked or with the declared
// Content-Length, over HTTP/1.1 and h2; a server that stops reading stops the producer (on h2
// too, within its flow-control window); a reused connection closing under it fails it with -1021
// where bytes are sent again; an abort,
// a failing stream and a 307 end the task with coded errors; 303 and 307 go as Node's fetch goes.
import { createHash, type Hash } from 'node:crypto';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { BLOCK, blockSha256 } from '../helpers/fetch-server';
import { closeServer, listenLocal } from '../helpers/listen';
import { sessionMaker } from '../helpers/sessions';
import { makeCertificates, type TestCertificates } from '../helpers/tls';
import { waitFor, waitForStill } from '../helpers/wait-for';
import { rejection } from '../helpers/rejection';

const MiB = 1 << 20;

/** What the server saw of one request, by its ?id=. */
interface Seen {
  method: string;
  received: number;
  hash: Hash;
  transferEncoding: string | null;
  contentLength: string | null;
  /** The request ended before its body did (the client went away). */
  cutOff: boolean;
  /** A request held (?hold): reading starts when the test calls resume(). */
  resume?: () => void;
}

const seen = new Map<string, Seen>();

interface Answer {
  method: string;
  received: number;
  sha256: string;
  transferEncoding: string | null;
  contentLength: string | null;
}

function record(
  id: string,
  method: string,
  headers: http.IncomingHttpHeaders,
  body: Readable,
  hold: boolean,
  answer: (text: string) => void,
  onCut: (handler: () => void) => void,
): void {
  const entry: Seen = {
    method,
    received: 0,
    hash: createHash('sha256'),
    transferEncoding: (headers['transfer-encoding'] as string | undefined) ?? null,
    contentLength: (headers['content-length'] as string | undefined) ?? null,
    cutOff: false,
  };
  seen.set(id, entry);
  let ended = false;
  body.on('data', (chunk: Buffer) => {
    entry.received += chunk.length;
    entry.hash.update(chunk);
  });
  body.on('end', () => {
    ended = true;
    const result: Answer = {
      method,
      received: entry.received,
      sha256: entry.hash.digest('hex'),
      transferEncoding: entry.transferEncoding,
      contentLength: entry.contentLength,
    };
    answer(JSON.stringify(result));
  });
  onCut(() => {
    if (!ended) entry.cutOff = true;
  });
  if (hold) {
    body.pause();
    entry.resume = () => body.resume();
  }
}

// HTTP/1.1: /sink?id=...[&hold] hashes the body; /redirect?status=...&to=... answers a redirect
// without reading the body.
const h1 = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/redirect') {
    res.writeHead(Number(url.searchParams.get('status')), { Location: url.searchParams.get('to') ?? '/sink' });
    res.end();
    return;
  }
  record(
    url.searchParams.get('id') ?? '',
    req.method ?? '',
    req.headers,
    req,
    url.searchParams.has('hold'),
    (text) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(text),
    (handler) => res.on('close', handler),
  );
});
let base = '';
let certs: TestCertificates;
let h2: http2.Http2SecureServer;
let h2Base = '';

beforeAll(async () => {
  base = await listenLocal(h1);
  certs = makeCertificates();
  h2 = http2.createSecureServer({ key: certs.key, cert: certs.cert, allowHTTP1: false }, (req, res) => {
    const url = new URL(req.url, 'https://x');
    record(
      url.searchParams.get('id') ?? '',
      req.method,
      req.headers,
      req,
      url.searchParams.has('hold'),
      (text) => res.writeHead(200, { 'content-type': 'application/json' }).end(text),
      (handler) => res.on('close', handler),
    );
  });
  await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
  h2Base = `https://127.0.0.1:${(h2.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await closeServer(h1);
  await new Promise<void>((resolve) => h2.close(() => resolve()));
});

const session = sessionMaker();

/** A ReadableStream of `total` bytes of the repeated BLOCK, in `chunk`-byte pieces made as it is pulled. */
function blockStream(
  total: number,
  chunk = 64 * 1024,
): { stream: ReadableStream<Uint8Array>; pulled: () => number; cancelled: () => boolean } {
  let made = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (made >= total) {
          controller.close();
          return;
        }
        const offset = made % BLOCK.length;
        const size = Math.min(chunk, total - made, BLOCK.length - offset);
        controller.enqueue(BLOCK.subarray(offset, offset + size));
        made += size;
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => made, cancelled: () => cancelled };
}

async function answerOf(response: Response): Promise<Answer> {
  expect(response.status).toBe(200);
  return (await response.json()) as Answer;
}

describe('fetch() with a ReadableStream body (duplex: half)', () => {
  it('sends every byte of a multi-chunk stream chunked on HTTP/1.1, larger than maximumResponseSize', async () => {
    const total = 3 * MiB + 12345;
    const small = sessionMaker({ maximumResponseSize: 1024 })();
    const { stream, pulled } = blockStream(total, 50_000);
    const answer = await answerOf(
      await small.fetch(`${base}/sink?id=chunked`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit),
    );
    expect(answer).toEqual({
      method: 'POST',
      received: total,
      sha256: blockSha256(total),
      transferEncoding: 'chunked',
      contentLength: null,
    });
    expect(pulled()).toBe(total);
  });

  it('sends a declared Content-Length as such, and fails with -1021 when the stream ends short of it', async () => {
    const total = 2 * MiB + 7;
    const { stream } = blockStream(total);
    const answer = await answerOf(
      await session().fetch(`${base}/sink?id=declared`, {
        method: 'PUT',
        body: stream,
        duplex: 'half',
        headers: { 'Content-Length': String(total) },
      } as RequestInit),
    );
    expect(answer).toMatchObject({
      method: 'PUT',
      received: total,
      sha256: blockSha256(total),
      transferEncoding: null,
      contentLength: String(total),
    });

    const short = blockStream(1000).stream;
    const error = await rejection<TypeError & { cause: URLSession.TransferError }>(
      session().fetch(`${base}/sink?id=short`, {
        method: 'PUT',
        body: short,
        duplex: 'half',
        headers: { 'Content-Length': '5000' },
      } as RequestInit),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('fetch failed');
    expect(error.cause.errorCode).toBe(URLSession.NSURLError.RequestBodyStreamExhausted);
  });

  it('a server that stops reading stops the producer well below the total; reading on continues it', async () => {
    // Endless: the upload cannot finish (and the fetch fulfil) before the abort that ends the test.
    const total = Number.MAX_SAFE_INTEGER;
    const { stream, pulled } = blockStream(total);
    const controller = new AbortController();
    const done = session().fetch(`${base}/sink?id=held&hold`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
      signal: controller.signal,
    } as RequestInit);
    await waitFor('the request to reach the server', () => seen.has('held'));
    await waitForStill('the producer to stop being pulled', pulled, 30_000);
    const stalled = pulled();
    const entry = seen.get('held') as Seen;
    // Kernel socket buffers, libcurl's upload buffer and the engine's queue: a few MiB, not the total.
    expect(stalled).toBeLessThan(32 * MiB);
    expect(stalled - entry.received).toBeLessThan(32 * MiB);
    // The rest is not read at this speed in a test: cut it short by reading on for 16 MiB more.
    entry.resume?.();
    await waitFor('the server to read past the stall', () => entry.received > stalled + 16 * MiB, 30_000);
    // Nothing more is needed of this request: end it (the abort test checks the details).
    controller.abort();
    await rejection(done);
  });

  it('256 MiB generated at full speed: the bytes intact, RSS growth bounded', async () => {
    const total = 256 * MiB;
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 25);
    try {
      const { stream } = blockStream(total, 256 * 1024);
      const answer = await answerOf(
        await session().fetch(`${base}/sink?id=large`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit),
      );
      expect(answer.received).toBe(total);
      expect(answer.sha256).toBe(blockSha256(total));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    if (!process.env.URLSESSION_SANITIZER) expect(peak - before).toBeLessThan(150 * MiB); // ASan's quarantine holds freed memory
  });

  it('an abort mid-upload rejects with the signal reason; the server sees the request cut off', async () => {
    const { stream, pulled, cancelled } = blockStream(1024 * MiB);
    const controller = new AbortController();
    const reason = new Error('stop uploading');
    const pending = session().fetch(`${base}/sink?id=aborted&hold`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
      signal: controller.signal,
    } as RequestInit);
    await waitFor('the upload to start', () => seen.has('aborted') && pulled() > MiB);
    controller.abort(reason);
    expect(await rejection(pending)).toBe(reason);
    const after = pulled();
    // Reading on, the server meets the end of the connection before the end of the body.
    const entry = seen.get('aborted') as Seen;
    entry.resume?.();
    await waitFor('the server to see the request cut off', () => entry.cutOff);
    expect(entry.received).toBeLessThan(64 * MiB);
    // The producer was cancelled, and pulled no further.
    await waitFor('the producer to be cancelled', cancelled);
    expect(pulled()).toBe(after);
  });

  it('a stream that errors fails the fetch with -1021 and the stream error as its cause', async () => {
    const boom = new Error('the producer broke');
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 2 * MiB) {
          controller.error(boom);
          return;
        }
        controller.enqueue(BLOCK.subarray(0, 64 * 1024));
        sent += 64 * 1024;
      },
    });
    const error = await rejection<TypeError & { cause: URLSession.TransferError }>(
      session().fetch(`${base}/sink?id=broken`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit),
    );
    expect(error.message).toBe('fetch failed');
    expect(error.cause).toBeInstanceOf(URLSession.TransferError);
    expect(error.cause.errorCode).toBe(URLSession.NSURLError.RequestBodyStreamExhausted);
    expect(error.cause.cause).toBe(boom);
    await waitFor(
      'the server to see the request cut off',
      () => (seen.get('broken') as Seen | undefined)?.cutOff === true,
    );
  });

  it('a stream that stops producing fails the fetch with -1001 after timeoutIntervalForRequest, never hangs', async () => {
    const quick = sessionMaker({ timeoutIntervalForRequest: 1 })();
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // One chunk, then silence: a pull that never settles.
        if (pulls++ === 0) controller.enqueue(BLOCK.subarray(0, 1000));
        return new Promise<void>(() => undefined);
      },
    });
    const error = await rejection<TypeError & { cause: URLSession.TransferError }>(
      quick.fetch(`${base}/sink?id=silent`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit),
    );
    expect(error.message).toBe('fetch failed');
    expect(error.cause.errorCode).toBe(URLSession.NSURLError.TimedOut);
    expect((seen.get('silent') as Seen).received).toBe(1000);
  });

  it('uploads over h2: every byte, no chunked encoding (h2 frames it)', async () => {
    const total = 5 * MiB + 3;
    const { stream } = blockStream(total, 100_000);
    // maximumResponseSize below the body's size: only a streamed body gets through.
    const s = URLSession.createSession({
      configuration: URLSession.createSessionConfiguration({ tls: { ca: certs.caPem }, maximumResponseSize: 1024 }),
    });
    try {
      const response = await s.fetch(`${h2Base}/sink?id=h2`, {
        method: 'POST',
        body: stream,
        duplex: 'half',
      } as RequestInit);
      const answer = await answerOf(response);
      expect(answer).toMatchObject({ received: total, sha256: blockSha256(total), transferEncoding: null });
      expect((await URLSession.metricsOf(response)).protocol).toBe('h2');
    } finally {
      s.invalidateAndCancel();
    }
  });
});

describe('backpressure over h2', () => {
  it("a server that stops reading its stream stops the producer within h2's window and our queue; reading on continues it", async () => {
    // Endless: the upload cannot finish (and the fetch fulfil) before the abort that ends the test.
    const { stream, pulled } = blockStream(Number.MAX_SAFE_INTEGER);
    const controller = new AbortController();
    const s = URLSession.createSession({
      configuration: URLSession.createSessionConfiguration({ tls: { ca: certs.caPem } }),
    });
    try {
      const done = s.fetch(`${h2Base}/sink?id=h2-held&hold`, {
        method: 'POST',
        body: stream,
        duplex: 'half',
        signal: controller.signal,
      } as RequestInit);
      await waitFor('the request to reach the server', () => seen.has('h2-held'));
      await waitForStill('the producer to stop being pulled', pulled, 30_000);
      const stalled = pulled();
      const entry = seen.get('h2-held') as Seen;
      // The server's stream and connection windows (Node's default 64 KiB each, before it reads),
      // libcurl's upload buffer and the engine's 1 MiB queue: a few MiB, far below the total.
      expect(stalled).toBeLessThan(8 * MiB);
      expect(entry.received).toBeLessThan(stalled);
      // Reading on takes more of the producer: it was held, not ended.
      entry.resume?.();
      await waitFor('the server to read past the stall', () => entry.received > stalled + 8 * MiB, 30_000);
      expect(pulled()).toBeGreaterThan(stalled + 8 * MiB);
      controller.abort();
      await rejection(done);
    } finally {
      s.invalidateAndCancel();
    }
  });
});

describe('redirects of a streamed body, as Node fetch follows them', () => {
  // Larger than our session's maximumResponseSize: only a streamed body gets through.
  const small = sessionMaker({ maximumResponseSize: 1024 });
  type Outcome = { method?: string; received?: number; redirected?: boolean; error?: string; message?: string };
  async function outcome(fetcher: typeof fetch, status: number, id: string): Promise<[Outcome, unknown]> {
    try {
      const response = await fetcher(`${base}/redirect?status=${status}&to=${encodeURIComponent(`/sink?id=${id}`)}`, {
        method: 'POST',
        body: blockStream(100_000).stream,
        duplex: 'half',
      } as RequestInit);
      const answer = await answerOf(response);
      return [{ method: answer.method, received: answer.received, redirected: response.redirected }, undefined];
    } catch (error) {
      return [{ error: (error as Error).name, message: (error as Error).message }, (error as Error).cause];
    }
  }

  it('a 303 goes on as a GET without the body, for Node and for us', async () => {
    const [theirs] = await outcome(globalThis.fetch, 303, '303-node');
    const [mine] = await outcome((url, init) => small().fetch(url as string, init), 303, '303-ours');
    expect(theirs).toEqual({ method: 'GET', received: 0, redirected: true });
    expect(mine).toEqual(theirs);
  });

  for (const status of [307, 308]) {
    it(`a ${status} cannot send the streamed body again: TypeError 'fetch failed' for both, our cause -1021`, async () => {
      const [theirs] = await outcome(globalThis.fetch, status, `${status}-node`);
      const [mine, cause] = await outcome((url, init) => small().fetch(url as string, init), status, `${status}-ours`);
      expect(theirs).toEqual({ error: 'TypeError', message: 'fetch failed' });
      expect(mine).toEqual(theirs);
      expect(cause).toBeInstanceOf(URLSession.TransferError);
      expect((cause as URLSession.TransferError).errorCode).toBe(URLSession.NSURLError.RequestBodyStreamExhausted);
      expect(seen.has(`${status}-ours`)).toBe(false);
    });
  }
});

describe('a reused connection that closes under a streamed body', () => {
  // HTTP/1.1 over a raw socket: a GET is answered keep-alive; a POST on a connection that already
  // answered is read to its end and then closed without an answer (the server's idle timeout
  // racing the client's next request); a POST on a fresh connection is answered with its length.
  let connections = 0;
  /** Bytes received, by connection number (1-based). */
  const receivedOn: number[] = [];
  const raw = net.createServer((socket) => {
    const connection = ++connections;
    receivedOn[connection] = 0;
    let answered = 0;
    let buffered = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      receivedOn[connection] += data.length;
      buffered = Buffer.concat([buffered, data]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        const body = buffered.subarray(end + 4);
        let size: number;
        if (head.startsWith('GET')) size = 0;
        else if (length !== null) size = Number(length[1]);
        else if (body.includes('\r\n0\r\n\r\n') || body.subarray(0, 5).toString() === '0\r\n\r\n')
          size = body.indexOf('0\r\n\r\n', Math.max(0, body.length - 5)) + 5;
        else return;
        if (body.length < size) return;
        buffered = body.subarray(size);
        if (!head.startsWith('GET') && answered > 0) {
          socket.end();
          return;
        }
        answered++;
        const text = `connection ${connection}, ${size} body bytes`;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
      }
    });
  });
  let rawBase = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    rawBase = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => raw.close(() => resolve())));

  it('bytes are sent again on a new connection; a streamed body cannot be: -1021, saying why', async () => {
    const total = 300_000;
    const bytesSession = session();
    await bytesSession.request(`${rawBase}/warm`).done;
    const before = connections;
    const resent = await bytesSession.request(`${rawBase}/bytes`, { method: 'POST', body: Buffer.alloc(total, 1) })
      .done;
    expect(resent.body.toString()).toBe(`connection ${before + 1}, ${total} body bytes`);

    const streamSession = session();
    await streamSession.request(`${rawBase}/warm`).done;
    const opened = connections;
    const { stream, pulled } = blockStream(total);
    const error = await rejection<URLSession.TransferError>(
      streamSession.request(`${rawBase}/stream`, { method: 'POST', body: stream }).done,
    );
    expect(error).toBeInstanceOf(URLSession.TransferError);
    expect(error.errorCode).toBe(URLSession.NSURLError.RequestBodyStreamExhausted);
    expect(error.message).toContain(
      'the connection closed before answering and libcurl had to send the streamed request body again',
    );
    expect(pulled()).toBe(total);
    // libcurl may open its new connection, but nothing goes over it: never a request without its body.
    expect(receivedOn.slice(opened + 1).every((bytes) => bytes === 0)).toBe(true);
  });
});

describe('the promise API with a streamed body', () => {
  it('request({ body: Readable }) and upload(url, ReadableStream) send every byte', async () => {
    const total = 3 * MiB + 1;
    const readable = Readable.from(
      (function* () {
        for (let sent = 0; sent < total; sent += 100_000) yield BLOCK.subarray(0, Math.min(100_000, total - sent));
      })(),
    );
    const expected = createHash('sha256');
    for (let sent = 0; sent < total; sent += 100_000)
      expected.update(BLOCK.subarray(0, Math.min(100_000, total - sent)));
    const viaRequest = await session().request(`${base}/sink?id=readable`, { method: 'PUT', body: readable }).done;
    expect(JSON.parse(viaRequest.body.toString())).toMatchObject({
      method: 'PUT',
      received: total,
      sha256: expected.digest('hex'),
      transferEncoding: 'chunked',
    });

    const viaUpload = await session().upload(`${base}/sink?id=upload`, blockStream(total).stream, {
      headers: { 'Content-Length': String(total) },
    }).done;
    expect(JSON.parse(viaUpload.body.toString())).toMatchObject({
      method: 'POST',
      received: total,
      sha256: blockSha256(total),
      contentLength: String(total),
    });
  });

  it('a Content-Length that is not a byte count: a synchronous coded TypeError', () => {
    expect(() =>
      session().request(`${base}/sink?id=bad`, {
        body: blockStream(10).stream,
        headers: { 'Content-Length': '12abc' },
      }),
    ).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        code: URLSession.ErrorCodes.INVALID_ARGUMENT,
        message: 'Content-Length of a streamed body must be a byte count, got 12abc',
      }),
    );
  });
});
