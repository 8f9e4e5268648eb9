// fetch() against Node's own fetch: the same requests, sent by both to one loopback server
// (test/helpers/fetch-server.ts), must be seen the same by the server and give the same
// observable Response (status, statusText, headers, getSetCookie, body bytes, url, redirected)
// and the same errors. Differences that are deliberate are listed in README "fetch()" and
// asserted here as what they are.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { startFetchServer } from '../helpers/fetch-server';
import { readUntilError } from '../helpers/read-error';
import { sessionMaker } from '../helpers/sessions';
import { useStarted } from '../helpers/listen';
import { rejection } from '../helpers/rejection';

type Fetcher = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

const server = useStarted(startFetchServer);
// A session of its own for each fetch, each invalidated after its test.
const session = sessionMaker();
const smallSession = sessionMaker({ maximumResponseSize: 1024 });
const ours: Fetcher = (input, init) => session().fetch(input, init);
const node: Fetcher = globalThis.fetch;

// What a caller can observe of one fetch: the Response, or the error it rejected with.
async function observe(fetcher: Fetcher, path: string, init?: RequestInit): Promise<Record<string, unknown>> {
  try {
    const r = await fetcher(server.base + path, init);
    const bytes = Buffer.from(await r.arrayBuffer());
    const json = r.headers.get('content-type') === 'application/json';
    return {
      instance: r instanceof Response,
      status: r.status,
      statusText: r.statusText,
      ok: r.ok,
      type: r.type,
      url: r.url,
      redirected: r.redirected,
      contentType: r.headers.get('content-type'),
      contentLength: r.headers.get('content-length'),
      custom: r.headers.get('x-custom'),
      repeat: r.headers.get('x-repeat'),
      setCookie: r.headers.getSetCookie(),
      body: json ? JSON.parse(bytes.toString()) : createHash('sha256').update(bytes).digest('hex'),
    };
  } catch (error) {
    return { error: (error as Error).name, message: (error as Error).message };
  }
}

async function both(
  path: string,
  init?: () => RequestInit,
): Promise<[Record<string, unknown>, Record<string, unknown>]> {
  return [await observe(node, path, init?.()), await observe(ours, path, init?.())];
}

// Bytes without a Content-Type are sent as application/x-www-form-urlencoded by the engines, as
// NSURLSession does (deliberate, README "fetch()"; asserted below): these cases name theirs.
const OCTETS = { 'content-type': 'application/octet-stream' };

describe('the same request through Node fetch and ours', () => {
  const bodies: [string, () => RequestInit][] = [
    ['no body', () => ({})],
    ['a header record', () => ({ headers: { 'X-Test': 'record' } })],
    ['a Headers', () => ({ headers: new Headers([['x-test', 'headers']]) })],
    ['header pairs', () => ({ headers: [['X-Test', 'pairs']] })],
    ['a string', () => ({ method: 'POST', body: 'héllo wörld' })],
    ['a Uint8Array', () => ({ method: 'POST', body: new Uint8Array([1, 2, 3, 250]), headers: OCTETS })],
    ['an ArrayBuffer', () => ({ method: 'PUT', body: new Uint8Array(1000).fill(7).buffer })],
    [
      'a DataView',
      () => ({ method: 'POST', body: new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2), headers: OCTETS }),
    ],
    ['a typed Blob', () => ({ method: 'POST', body: new Blob(['blob ', 'parts'], { type: 'text/x-blob' }) })],
    ['an untyped Blob', () => ({ method: 'POST', body: new Blob([new Uint8Array(70_000).fill(3)]), headers: OCTETS })],
    ['URLSearchParams', () => ({ method: 'POST', body: new URLSearchParams({ a: '1 2', b: 'ä&=' }) })],
    ['PATCH', () => ({ method: 'PATCH', headers: { 'content-type': 'text/x-patch' }, body: 'x' })],
    ['DELETE', () => ({ method: 'DELETE' })],
  ];
  for (const [what, init] of bodies) {
    it(`${what}: the server sees the same and the Response is the same`, async () => {
      const [theirs, mine] = await both('/echo?q=1', init);
      expect(theirs.error).toBeUndefined();
      expect(mine).toEqual(theirs);
      expect(mine.instance).toBe(true);
    });
  }

  it('no init at all, and a URL object: the server sees what Node sends and the Response is the same', async () => {
    const [theirs, mine] = await both('/echo?plain');
    expect(theirs.error).toBeUndefined();
    expect(mine).toEqual(theirs);
    const url = (): URL => new URL(`${server.base}/echo?object#fragment`);
    expect(await observe((_, init) => ours(url(), init), '')).toEqual(
      await observe((_, init) => node(url(), init), ''),
    );
  });

  it('deliberate: bytes without a Content-Type go as application/x-www-form-urlencoded (NSURLSession), Node sends none', async () => {
    const [theirs, mine] = await both('/echo', () => ({ method: 'POST', body: new Uint8Array([1, 2]) }));
    expect((theirs.body as { contentType: string }).contentType).toBe('');
    expect((mine.body as { contentType: string }).contentType).toBe('application/x-www-form-urlencoded');
    expect((mine.body as { bodySha256: string }).bodySha256).toBe((theirs.body as { bodySha256: string }).bodySha256);
  });

  it('deliberate: a method is sent upper-cased (as every urlsession method is), Node sends "patch" as given', async () => {
    const [theirs, mine] = await both('/echo', () => ({ method: 'patch', body: 'x' }));
    expect(theirs.status).toBe(400); // Node's http server refuses the lower-case method
    expect((mine.body as { method: string }).method).toBe('PATCH');
  });

  it('a ReadableStream body (duplex: half) is streamed chunked, as Node streams it', async () => {
    const init = (): RequestInit => ({
      method: 'POST',
      body: new Blob(['streamed ', 'request ', 'body']).stream(),
      headers: OCTETS,
      duplex: 'half',
    });
    const [theirs, mine] = await both('/echo', init);
    expect(mine).toEqual(theirs);
    expect((mine.body as Record<string, unknown>).contentLength).toBeNull();
  });

  it('a Request input made with a ReadableStream is streamed as Node streams it, and used once', async () => {
    // 64 KiB, larger than the small session's maximumResponseSize: only a streamed body gets through.
    const bytes = new Uint8Array(64 * 1024).map((_, i) => (i * 31) & 0xff);
    const request = (): Request =>
      new Request(`${server.base}/echo`, {
        method: 'POST',
        body: new Blob([bytes.subarray(0, 40_000), bytes.subarray(40_000)]).stream(),
        headers: OCTETS,
        duplex: 'half',
      } as RequestInit);
    const small = smallSession();
    const fetchers: [string, Fetcher][] = [
      ['node', node],
      ['ours', (input, init) => small.fetch(input, init)],
    ];
    const seen: Record<string, unknown>[] = [];
    for (const [, fetcher] of fetchers) {
      const sent = request();
      const first = await observe((_, init) => fetcher(sent, init), '');
      // The body is used: a second fetch of the same Request is a TypeError.
      const again = await observe((_, init) => fetcher(sent, init), '');
      seen.push({ first, bodyUsed: sent.bodyUsed, again: again.error });
    }
    const [theirs, mine] = seen;
    expect(mine).toEqual(theirs);
    expect(mine).toMatchObject({ bodyUsed: true, again: 'TypeError' });
    expect((mine.first as { body: Record<string, unknown> }).body).toMatchObject({
      method: 'POST',
      contentLength: null,
      bodyLength: bytes.length,
      bodySha256: createHash('sha256').update(bytes).digest('hex'),
    });
  });

  it('FormData: the same parts parsed back by the server, each with its boundary', async () => {
    const form = (): RequestInit => {
      const f = new FormData();
      f.append('field', 'value ü');
      f.append('file', new Blob(['file bytes\r\n--not-a-boundary'], { type: 'text/plain' }), 'a "b".txt');
      f.append('field', 'second');
      return { method: 'POST', body: f };
    };
    const [theirs, mine] = await both('/echo', form);
    const theirBody = theirs.body as Record<string, unknown>;
    const myBody = mine.body as Record<string, unknown>;
    expect(myBody.parts).toEqual(theirBody.parts);
    expect((myBody.parts as unknown[]).length).toBe(3);
    // The boundary is random per body; its form, the Content-Type and the length are not.
    expect(myBody.contentType).toBe(`multipart/form-data; boundary=${myBody.boundary as string}`);
    expect(myBody.contentLength).toBe(theirBody.contentLength);
    expect(String(myBody.boundary)).toMatch(/^----formdata-undici-\d+$/);
  });

  it('two Set-Cookie lines stay two through getSetCookie(); another repeat is joined', async () => {
    const [theirs, mine] = await both('/cookies');
    expect(mine).toEqual(theirs);
    expect(mine.setCookie).toEqual(['a=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT', 'b=2; Path=/']);
    expect(mine.repeat).toBe('one, two');
  });

  for (const code of [200, 201, 204, 304, 404, 418, 500, 503]) {
    it(`status ${code}: ok, statusText and the (null) body as Node's`, async () => {
      const [theirs, mine] = await both(`/status?code=${code}`);
      expect(mine).toEqual(theirs);
    });
  }

  it('HEAD: no body, the same headers', async () => {
    const [theirs, mine] = await both('/status?code=200', () => ({ method: 'HEAD' }));
    expect(mine).toEqual(theirs);
    expect(mine.body).toBe(createHash('sha256').digest('hex'));
  });

  for (const status of [301, 302, 303, 307, 308]) {
    it(`redirect ${status} of a POST: the same method, body and final url; redirected`, async () => {
      const [theirs, mine] = await both(`/redirect?status=${status}&to=/echo%3Fafter`, () => ({
        method: 'POST',
        body: 'payload',
      }));
      const theirBody = theirs.body as Record<string, unknown>;
      const myBody = mine.body as Record<string, unknown>;
      expect(mine.redirected).toBe(true);
      expect(mine.url).toBe(`${server.base}/echo?after`);
      // The echo's length differs with the Content-Type it repeats (below).
      expect({ ...mine, body: undefined, contentLength: 0 }).toEqual({ ...theirs, body: undefined, contentLength: 0 });
      expect(myBody.method).toBe(theirBody.method);
      expect(myBody.bodyLength).toBe(theirBody.bodyLength);
      // Deliberate (README "fetch()"): a redirect that turns a POST into a GET drops the body
      // in both, but the engines keep the request's Content-Type; Fetch removes it.
      if (theirBody.method === 'GET' && status !== 307 && status !== 308) {
        expect(theirBody.contentType).toBe('');
        expect(myBody.contentType).toBe('text/plain;charset=UTF-8');
      } else {
        expect(myBody.contentType).toBe(theirBody.contentType);
      }
    });
  }

  it('a Request as input, with its own method, headers and body', async () => {
    const request = (): Request =>
      new Request(`${server.base}/echo`, { method: 'PUT', headers: { 'x-test': 'req' }, body: 'from a Request' });
    const theirs = await observe((_, init) => node(request(), init), '');
    const mine = await observe((_, init) => ours(request(), init), '');
    expect(mine).toEqual(theirs);
  });
});

describe('errors as Node fetch users expect them', () => {
  it('connection refused: TypeError "fetch failed", our cause with its code and errorCode', async () => {
    const refusedUrl = 'http://127.0.0.1:1/';
    const theirs = await rejection<TypeError>(node(refusedUrl));
    const mine = await rejection<TypeError & { cause: URLSession.TransferError }>(session().fetch(refusedUrl));
    expect(mine).toBeInstanceOf(TypeError);
    expect(mine.message).toBe(theirs.message);
    expect(mine.message).toBe('fetch failed');
    expect(mine.cause.code).toBe(URLSession.ErrorCodes.TRANSFER_FAILED);
    expect(mine.cause.errorCode).toBe(URLSession.NSURLError.CannotConnectToHost);
  });

  it('a URL that does not parse: a TypeError for both, ours coded', async () => {
    const theirs = await rejection<TypeError>(node('http://[bad'));
    const mine = await rejection<TypeError & { code: string }>(session().fetch('http://[bad'));
    expect(theirs).toBeInstanceOf(TypeError);
    expect(mine).toBeInstanceOf(TypeError);
    expect(mine.code).toBe(URLSession.ErrorCodes.INVALID_URL);
  });

  it('a URL with credentials: a TypeError for both, ours coded, with or without init', async () => {
    const url = server.base.replace('http://', 'http://user:secret@');
    const theirs = await rejection<TypeError>(node(url));
    for (const init of [undefined, {}]) {
      const mine = await rejection<TypeError & { code: string; cause: Error }>(session().fetch(url, init));
      expect(mine).toBeInstanceOf(TypeError);
      expect(mine.code).toBe(URLSession.ErrorCodes.INVALID_ARGUMENT);
      expect(mine.cause.message).toBe(theirs.message);
    }
  });

  it('a GET with a body: a TypeError for both, ours coded', async () => {
    const init = { method: 'GET', body: 'x' };
    const theirs = await rejection<TypeError>(node(server.base, init));
    const mine = await rejection<TypeError & { code: string }>(session().fetch(server.base, init));
    expect(theirs).toBeInstanceOf(TypeError);
    expect(mine).toBeInstanceOf(TypeError);
    expect(mine.code).toBe(URLSession.ErrorCodes.INVALID_ARGUMENT);
  });

  it('a ReadableStream body without duplex: a TypeError for both', async () => {
    const init = (): RequestInit => ({ method: 'POST', body: new Blob(['x']).stream() });
    const theirs = await rejection<TypeError>(node(server.base, init()));
    const mine = await rejection<TypeError>(session().fetch(server.base, init()));
    expect(theirs).toBeInstanceOf(TypeError);
    expect(mine).toBeInstanceOf(TypeError);
  });

  it('an unsupported scheme: TypeError "fetch failed" with our coded cause', async () => {
    const mine = await rejection<TypeError & { cause: { code: string } }>(session().fetch('ftp://127.0.0.1/x'));
    const theirs = await rejection<TypeError>(node('ftp://127.0.0.1/x'));
    expect(mine.message).toBe(theirs.message);
    expect(mine.cause.code).toBe(URLSession.ErrorCodes.UNSUPPORTED_SCHEME);
  });

  for (const status of [301, 302, 303, 307, 308]) {
    it(`redirect: 'manual' gives the ${status} itself, as Node's does, and the target is never asked`, async () => {
      const target = `/echo%3Fmanual-${status}`;
      const [theirs, mine] = await both(`/redirect?status=${status}&to=${target}`, () => ({ redirect: 'manual' }));
      expect(mine).toEqual(theirs);
      expect(mine.status).toBe(status);
      expect(mine.redirected).toBe(false);
      expect(server.seen.filter((url) => url === `/echo?manual-${status}`)).toEqual([]);
    });
  }

  it("redirect: 'error' rejects a redirect with TypeError 'fetch failed', as Node's does; other answers pass", async () => {
    const path = '/redirect?status=302&to=/echo%3Ferror';
    const theirs = await rejection<TypeError>(node(`${server.base}${path}`, { redirect: 'error' }));
    const mine = await rejection<TypeError & { cause: { code: string } }>(
      session().fetch(`${server.base}${path}`, { redirect: 'error' }),
    );
    expect(mine).toBeInstanceOf(TypeError);
    expect(mine.message).toBe(theirs.message);
    expect(mine.cause.code).toBe(URLSession.ErrorCodes.UNEXPECTED_REDIRECT);
    const [theirOk, myOk] = await both('/status?code=200', () => ({ redirect: 'error' }));
    expect(myOk).toEqual(theirOk);
  });

  it('an already aborted signal rejects with its reason, before any request', async () => {
    const reason = new Error('mine');
    const theirs = await rejection(node(`${server.base}/echo?pre`, { signal: AbortSignal.abort(reason) }));
    const mine = await rejection(session().fetch(`${server.base}/echo?pre`, { signal: AbortSignal.abort(reason) }));
    expect(theirs).toBe(reason);
    expect(mine).toBe(reason);
    const plain = await rejection<DOMException>(session().fetch(server.base, { signal: AbortSignal.abort() }));
    expect(plain).toBeInstanceOf(DOMException);
    expect(plain.name).toBe('AbortError');
  });

  for (const [name, fetcher] of [
    ['Node fetch', () => node],
    ['ours', () => ours],
  ] as const) {
    it(`${name}: an abort while the body is read errors the read with the signal's reason, after the abort`, async () => {
      const f = fetcher() as Fetcher;
      const controller = new AbortController();
      const order: string[] = [];
      const response = await f(`${server.base}/bytes?size=${32 << 20}&id=abort-${name}`, { signal: controller.signal });
      order.push('response');
      const reader = response.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      const reason = new Error('stop reading');
      controller.signal.addEventListener('abort', () => order.push('abort'));
      controller.abort(reason);
      const error = await readUntilError(reader);
      if (error !== undefined) order.push('rejected');
      expect(error).toBe(reason);
      expect(order).toEqual(['response', 'abort', 'rejected']);
    });
  }
});

describe('the module-level fetch', () => {
  it('URLSession.fetch uses a default session of its own and returns a Response with metrics', async () => {
    const response = await URLSession.fetch(`${server.base}/echo?module`, { method: 'POST', body: 'abc' });
    expect(response).toBeInstanceOf(Response);
    const body = (await response.json()) as { method: string; bodyLength: number };
    expect(body).toMatchObject({ method: 'POST', bodyLength: 3 });
    const metrics = await URLSession.metricsOf(response);
    expect(metrics.protocol).toBe('http/1.1');
    expect(metrics.remoteAddress).toBe(server.base.slice('http://'.length));
    expect(metrics.totalMs).toBeGreaterThan(0);
    expect(metrics.bytesReceived).toBeGreaterThan(0);
    expect(() => URLSession.metricsOf(new Response('x'))).toThrow(TypeError);
  });
});
