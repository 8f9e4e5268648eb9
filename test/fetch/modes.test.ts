// fetch()'s modes against Node's own fetch: credentials (the session's cookies), cache, keepalive,
// integrity, the URL forms, the Response members and the request headers, sent by both to one
// loopback server that echoes what it received. Each case is identical in both or asserts the
// deliberate difference README "fetch()" lists.
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { closeServer, listenLocal, useStarted } from '../helpers/listen';
import { sessionMaker } from '../helpers/sessions';
import { rejection } from '../helpers/rejection';

type Fetcher = (input: string | URL | Request, init?: URLSession.FetchInit) => Promise<Response>;
type Seen = { path: string; headers: http.IncomingHttpHeaders; bodySha256: string };

const BODY = 'integrity-checked body';
const sha = (algorithm: string, text: string): string =>
  `${algorithm}-${createHash(algorithm).update(text).digest('base64')}`;

// /set?name=value sets a cookie; /body answers BODY with validators; anything else echoes.
async function startEchoServer(): Promise<{ base: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const httpServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const entry = {
        path: url.pathname + url.search,
        headers: req.headers,
        bodySha256: createHash('sha256').update(Buffer.concat(chunks)).digest('hex'),
      };
      seen.push(entry);
      if (url.pathname === '/set') {
        res.setHeader(
          'Set-Cookie',
          [...url.searchParams].map(([name, value]) => `${name}=${value}; Path=/`),
        );
      }
      if (url.pathname === '/redirect') {
        res.writeHead(302, { Location: '/echo?redirected' });
        return void res.end();
      }
      if (url.pathname === '/body') {
        res.writeHead(200, { 'Content-Type': 'text/plain', ETag: '"v1"', 'Last-Modified': new Date(0).toUTCString() });
        return void res.end(BODY);
      }
      if (url.pathname === '/form') {
        res.writeHead(200, { 'Content-Type': 'application/x-www-form-urlencoded' });
        return void res.end('a=1&b=%C3%A4');
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(entry));
    });
  });
  const base = await listenLocal(httpServer);
  return { base, seen, close: () => closeServer(httpServer) };
}

const server = useStarted(startEchoServer);
const session = sessionMaker();
const smallSession = sessionMaker({ maximumResponseSize: 8 });
// Node's types leave out `cache` and `priority`, which its fetch reads.
const node = globalThis.fetch as Fetcher;

/** What the server saw of the one request `fetcher` sent to `path`. */
async function sent(fetcher: Fetcher, path: string, init?: URLSession.FetchInit): Promise<Seen> {
  const response = await fetcher(server.base + path, init);
  expect(response.status).toBe(200);
  return (await response.json()) as Seen;
}

/** The Cookie header's pairs, sorted (libcurl orders them by path and age). */
const cookies = (seen: Seen): string[] => (seen.headers.cookie ?? '').split('; ').sort();

describe("credentials: the session's cookies", () => {
  it("'same-origin' (the default) and 'include' send the session's cookies; deliberate: Node's fetch keeps none", async () => {
    const s = session();
    const ours: Fetcher = (input, init) => s.fetch(input, init);
    for (const fetcher of [node, ours]) await fetcher(`${server.base}/set?a=1`).then((r) => r.arrayBuffer());
    expect((await sent(node, '/echo')).headers.cookie).toBeUndefined();
    expect((await sent(ours, '/echo')).headers.cookie).toBe('a=1');
    expect((await sent(ours, '/echo', { credentials: 'same-origin' })).headers.cookie).toBe('a=1');
    expect((await sent(ours, '/echo', { credentials: 'include' })).headers.cookie).toBe('a=1');
  });

  it("'omit' neither sends the session's cookies nor keeps the response's; the caller's own Cookie goes, as in Node", async () => {
    const s = session();
    const ours: Fetcher = (input, init) => s.fetch(input, init);
    // Several requests with cookies first: the omitting ones then run on handles that had them.
    for (let i = 0; i < 3; ++i) expect((await sent(ours, `/set?a=1&n${i}=x`)).path).toBe(`/set?a=1&n${i}=x`);
    expect(cookies(await sent(ours, '/echo'))).toEqual(['a=1', 'n0=x', 'n1=x', 'n2=x']);
    for (let i = 0; i < 3; ++i) {
      const omitted = await sent(ours, `/set?b${i}=2`, { credentials: 'omit' });
      expect(omitted.headers.cookie).toBeUndefined();
    }
    expect(cookies(await sent(ours, '/echo'))).toEqual(['a=1', 'n0=x', 'n1=x', 'n2=x']);
    const own = { credentials: 'omit', headers: { cookie: 'mine=1' } } as const;
    expect((await sent(ours, '/echo', own)).headers.cookie).toBe('mine=1');
    expect((await sent(node, '/echo', own)).headers.cookie).toBe('mine=1');
  });

  it("the promise API's credentials: 'omit' does the same; a bad value is a coded TypeError", async () => {
    const s = session();
    await s.request(`${server.base}/set?p=1`).done;
    const omitted = await s.request(`${server.base}/set?q=2`, { credentials: 'omit' }).done;
    expect((JSON.parse(omitted.body.toString()) as Seen).headers.cookie).toBeUndefined();
    const kept = await s.request(`${server.base}/echo`, { credentials: 'include' }).done;
    expect((JSON.parse(kept.body.toString()) as Seen).headers.cookie).toBe('p=1');
    expect(() => s.request(server.base, { credentials: 'same-origin' as 'omit' })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: URLSession.ErrorCodes.INVALID_ARGUMENT }),
    );
  });
});

describe('cache: no HTTP cache, and the headers Node sends for each mode', () => {
  const CACHE_HEADERS = ['pragma', 'cache-control', 'if-none-match', 'if-modified-since'];
  const cacheHeaders = (seen: Seen) => CACHE_HEADERS.map((name) => seen.headers[name] ?? null);
  for (const cache of ['default', 'no-store', 'reload', 'no-cache', 'force-cache'] as const) {
    it(`'${cache}': the same cache headers reach the server, no conditional ones, and it is asked every time`, async () => {
      const s = session();
      const ours: Fetcher = (input, init) => s.fetch(input, init);
      for (const fetcher of [node, ours]) {
        // A cache would answer (or revalidate) the second: the server sees both, unconditional.
        for (let i = 0; i < 2; ++i) expect(await (await fetcher(`${server.base}/body`, { cache })).text()).toBe(BODY);
      }
      const asked = server.seen.slice(-4);
      expect(asked.map((seen) => seen.path)).toEqual(['/body', '/body', '/body', '/body']);
      expect(asked.map(cacheHeaders)).toEqual(Array(4).fill(cacheHeaders(asked[0])));
      const expected = {
        'no-store': ['no-cache', 'no-cache'],
        reload: ['no-cache', 'no-cache'],
        'no-cache': [null, 'max-age=0'],
      };
      expect(cacheHeaders(asked[3])).toEqual([
        ...((expected as Record<string, unknown[]>)[cache] ?? [null, null]),
        null,
        null,
      ]);
    });
  }

  it("a caller's own Cache-Control wins over the mode's, in both", async () => {
    const init = { cache: 'no-store', headers: { 'cache-control': 'max-age=5' } } as const;
    const theirs = await sent(node, '/echo', init);
    const mine = await sent((input, i) => session().fetch(input, i), '/echo', init);
    expect([mine.headers['cache-control'], mine.headers.pragma]).toEqual(['max-age=5', 'no-cache']);
    expect([theirs.headers['cache-control'], theirs.headers.pragma]).toEqual(['max-age=5', 'no-cache']);
  });

  it("'only-if-cached' outside mode 'same-origin': the same TypeError as Node's, ours coded", async () => {
    const theirs = await rejection(node(server.base, { cache: 'only-if-cached' }));
    const mine = await rejection<TypeError & { code: string }>(
      session().fetch(server.base, { cache: 'only-if-cached' }),
    );
    expect(mine).toBeInstanceOf(TypeError);
    expect(mine.code).toBe(URLSession.ErrorCodes.INVALID_ARGUMENT);
    expect((mine as { cause?: Error }).cause?.message).toBe(theirs.message);
  });

  it("deliberate: 'only-if-cached' (mode 'same-origin') fails with -1008 and never asks the server; Node's goes to the network", async () => {
    const init = { cache: 'only-if-cached', mode: 'same-origin' } as const;
    await sent(node, '/echo?node-offline', init);
    const mine = await rejection<TypeError & { cause: URLSession.TransferError }>(
      session().fetch(`${server.base}/echo?ours-offline`, init),
    );
    expect(mine.message).toBe('fetch failed');
    expect(mine.cause.code).toBe(URLSession.ErrorCodes.TRANSFER_FAILED);
    expect(mine.cause.errorCode).toBe(URLSession.NSURLError.ResourceUnavailable);
    const promiseApi = await rejection<URLSession.TransferError>(
      session().request(`${server.base}/echo?promise-offline`, { cache: 'only-if-cached' }).done,
    );
    expect(promiseApi.errorCode).toBe(URLSession.NSURLError.ResourceUnavailable);
    expect(server.seen.map((seen) => seen.path).filter((path) => path.endsWith('-offline'))).toEqual([
      '/echo?node-offline',
    ]);
  });
});

describe('keepalive', () => {
  it('true with a 70,000-byte body: sent whole by both (Node has no 64 KiB keepalive limit either)', async () => {
    const init = (): URLSession.FetchInit => ({
      method: 'POST',
      keepalive: true,
      body: new Uint8Array(70_000).fill(5),
    });
    const expected = createHash('sha256').update(new Uint8Array(70_000).fill(5)).digest('hex');
    expect((await sent(node, '/echo', init())).bodySha256).toBe(expected);
    expect((await sent((input, i) => session().fetch(input, i), '/echo', init())).bodySha256).toBe(expected);
  });

  it('true with a ReadableStream body: a TypeError from both', async () => {
    const init = (): URLSession.FetchInit => ({
      method: 'POST',
      keepalive: true,
      body: new Blob(['x']).stream(),
      duplex: 'half',
    });
    expect(await rejection(node(server.base, init()))).toBeInstanceOf(TypeError);
    expect(await rejection(session().fetch(server.base, init()))).toBeInstanceOf(TypeError);
  });
});

describe('integrity: checked before fetch resolves, as Node does', () => {
  const cases: [string, string, boolean][] = [
    ['a matching sha256', sha('sha256', BODY), true],
    ['a matching sha512', sha('sha512', BODY), true],
    ['a wrong sha256', `sha256-${Buffer.alloc(32).toString('base64')}`, false],
    ['a wrong digest beside a matching one of the same algorithm', `sha256-AAAA ${sha('sha256', BODY)}`, true],
    ['a matching sha256 beside a wrong sha512 (the strongest counts)', `${sha('sha256', BODY)} sha512-AAAA`, false],
    ['a digest of the wrong length', 'sha256-AAAA', false],
    ['no valid token (ignored)', 'md5-abc garbage', true],
  ];
  for (const [what, integrity, passes] of cases) {
    it(`${what}: ${passes ? 'the body' : "TypeError 'fetch failed'"} from both`, async () => {
      for (const fetcher of [node, (input: string, init?: URLSession.FetchInit) => session().fetch(input, init)]) {
        const result = fetcher(`${server.base}/body`, { integrity }).then((r) => r.text());
        if (passes) expect(await result).toBe(BODY);
        else expect((await rejection(result)).message).toBe('fetch failed');
      }
    });
  }

  it("deliberate: a token with options (SRI's ?opt) is checked; Node's fetch fails on it with an internal TypeError", async () => {
    const integrity = `${sha('sha256', BODY)}?foo=bar`;
    expect(await rejection(node(`${server.base}/body`, { integrity }))).toBeInstanceOf(TypeError);
    expect(await (await session().fetch(`${server.base}/body`, { integrity })).text()).toBe(BODY);
  });

  it('a body larger than maximumResponseSize is not checked: TypeError, cause coded ERR_URLSESSION_OUT_OF_RANGE', async () => {
    const small = smallSession();
    const error = await rejection<TypeError & { cause: { code: string } }>(
      small.fetch(`${server.base}/body`, { integrity: sha('sha256', BODY) }),
    );
    expect(error.message).toBe('fetch failed');
    expect(error.cause.code).toBe(URLSession.ErrorCodes.OUT_OF_RANGE);
    // The session goes on: the same body without integrity.
    expect(await (await small.fetch(`${server.base}/body`)).text()).toBe(BODY);
  });

  it('a mismatch is coded ERR_URLSESSION_INTEGRITY_MISMATCH; a match keeps the metrics', async () => {
    const s = session();
    const wrong = `sha384-${Buffer.alloc(48).toString('base64')}`;
    const error = await rejection<TypeError & { cause: { code: string } }>(
      s.fetch(`${server.base}/body`, { integrity: wrong }),
    );
    expect(error.cause.code).toBe(URLSession.ErrorCodes.INTEGRITY_MISMATCH);
    const response = await s.fetch(`${server.base}/body`, { integrity: sha('sha384', BODY) });
    expect(await response.text()).toBe(BODY);
    expect((await URLSession.metricsOf(response)).bytesReceived).toBe(BODY.length);
  });
});

describe('URL forms', () => {
  const ours: Fetcher = (input, init) => session().fetch(input, init);
  it('a URL object and a Request object: the same request as Node sends', async () => {
    for (const input of [() => new URL(`${server.base}/echo?url`), () => new Request(`${server.base}/echo?req`)]) {
      const [theirs, mine] = [await node(input()), await ours(input())];
      expect(((await mine.json()) as Seen).path).toBe(((await theirs.json()) as Seen).path);
    }
  });

  it('a data: URL and a blob: URL are answered as Node answers them, without the network', async () => {
    const blob = URL.createObjectURL(new Blob(['blob bytes'], { type: 'text/x-blob' }));
    for (const url of ['data:text/plain;charset=utf-8,hello%20data', blob]) {
      const [theirs, mine] = [await node(url), await ours(url)];
      expect([mine.status, mine.headers.get('content-type'), await mine.text()]).toEqual([
        theirs.status,
        theirs.headers.get('content-type'),
        await theirs.text(),
      ]);
    }
    URL.revokeObjectURL(blob);
  });

  it("a relative URL: a TypeError from both; file: TypeError 'fetch failed' from both", async () => {
    expect(await rejection(node('/relative'))).toBeInstanceOf(TypeError);
    const relative = await rejection<TypeError & { code: string }>(ours('/relative'));
    expect(relative.code).toBe(URLSession.ErrorCodes.INVALID_URL);
    const theirs = await rejection(node('file:///etc/hostname'));
    const mine = await rejection<TypeError & { cause: { code: string } }>(ours('file:///etc/hostname'));
    expect(mine.message).toBe(theirs.message);
    expect(mine.cause.code).toBe(URLSession.ErrorCodes.UNSUPPORTED_SCHEME);
  });
});

describe('the Response', () => {
  const ours: Fetcher = (input, init) => session().fetch(input, init);
  it('clone() keeps url and redirected, as Node’s does, and both copies read the same bytes', async () => {
    for (const fetcher of [node, ours]) {
      const response = await fetcher(`${server.base}/redirect`);
      const copy = response.clone();
      const again = copy.clone();
      for (const each of [response, copy, again]) {
        expect([each.url, each.redirected, each.type]).toEqual([`${server.base}/echo?redirected`, true, 'basic']);
      }
      expect(((await copy.json()) as Seen).path).toBe('/echo?redirected');
      expect(await response.text()).toBe(await again.text());
    }
  });

  it('bodyUsed, arrayBuffer, blob, formData, json and text give what Node’s give', async () => {
    const read = async (fetcher: Fetcher): Promise<unknown[]> => {
      const r = await fetcher(`${server.base}/form`);
      const before = r.bodyUsed;
      const form = await r.formData();
      const blob = await (await fetcher(`${server.base}/body`)).blob();
      const bytes = Buffer.from(await (await fetcher(`${server.base}/body`)).arrayBuffer()).toString();
      const used = await fetcher(`${server.base}/body`);
      await used.text();
      const second = await rejection(used.text());
      return [before, r.bodyUsed, [...form], blob.type, blob.size, bytes, second.name];
    };
    expect(await read(ours)).toEqual(await read(node));
  });
});

describe('request headers', () => {
  const ours: Fetcher = (input, init) => session().fetch(input, init);
  it('an invalid header name or value: a TypeError from both', async () => {
    for (const headers of [{ 'bad name': 'x' }, { x: 'a\nb' }] as Record<string, string>[]) {
      expect(await rejection(node(server.base, { headers }))).toBeInstanceOf(TypeError);
      expect(await rejection(ours(server.base, { headers }))).toBeInstanceOf(TypeError);
    }
  });

  it("the caller's user-agent, accept, accept-language and accept-encoding are sent as given by both", async () => {
    const headers = {
      'user-agent': 'mine/1',
      accept: 'text/x-mine',
      'accept-language': 'de',
      'accept-encoding': 'gzip',
    };
    const [theirs, mine] = [await sent(node, '/echo', { headers }), await sent(ours, '/echo', { headers })];
    for (const name of Object.keys(headers)) expect([name, mine.headers[name]]).toEqual([name, theirs.headers[name]]);
  });

  it("deliberate: the default headers are the engine's; Node adds accept-language, sec-fetch-mode and user-agent node", async () => {
    const [theirs, mine] = [await sent(node, '/echo'), await sent(ours, '/echo')];
    expect(theirs.headers).toMatchObject({
      accept: '*/*',
      'accept-language': '*',
      'sec-fetch-mode': 'cors',
      'user-agent': 'node',
    });
    expect(mine.headers.accept).toBe('*/*');
    expect(mine.headers['accept-language']).toBeUndefined();
    expect(mine.headers['sec-fetch-mode']).toBeUndefined();
    expect(mine.headers['user-agent']).not.toBe('node');
    expect(mine.headers['accept-encoding']).toMatch(/gzip/);
  });

  it("deliberate: mode is checked by Node's Request but sends nothing; Node sends it as sec-fetch-mode", async () => {
    const init = { mode: 'no-cors' } as const;
    const [theirs, mine] = [await sent(node, '/echo', init), await sent(ours, '/echo', init)];
    expect(theirs.headers['sec-fetch-mode']).toBe('no-cors');
    expect(mine.headers['sec-fetch-mode']).toBeUndefined();
    for (const bad of [{ mode: 'navigate' }, { window: {} }] as URLSession.FetchInit[]) {
      expect(await rejection(node(server.base, bad))).toBeInstanceOf(TypeError);
      expect(await rejection(ours(server.base, bad))).toBeInstanceOf(TypeError);
    }
  });

  const referrers: [string, () => string, Request['referrerPolicy'] | undefined, () => string | undefined][] = [
    [
      'cross-origin, the default policy: its origin',
      () => 'http://example.com/a/b?c#d',
      undefined,
      () => 'http://example.com/',
    ],
    [
      'same-origin, the default policy: the URL without its fragment',
      () => `${server.base}/from?x#y`,
      undefined,
      () => `${server.base}/from?x`,
    ],
    [
      'https to loopback (no downgrade): its origin',
      () => 'https://example.com/a',
      undefined,
      () => 'https://example.com/',
    ],
    [
      "'unsafe-url': the URL without its credentials",
      () => 'http://u:p@example.com/a',
      'unsafe-url',
      () => 'http://example.com/a',
    ],
    ["'origin'", () => 'http://example.com/a?q', 'origin', () => 'http://example.com/'],
    ["'strict-origin'", () => 'http://localhost:1/x', 'strict-origin', () => 'http://localhost:1/'],
    ["'same-origin', cross-origin: none", () => 'http://example.com/a', 'same-origin', () => undefined],
    ["'' : none", () => '', undefined, () => undefined],
  ];
  for (const [what, referrer, referrerPolicy, expected] of referrers) {
    it(`referrer ${what}: the same Referer from both`, async () => {
      const init = { referrer: referrer(), referrerPolicy };
      const [theirs, mine] = [await sent(node, '/echo', init), await sent(ours, '/echo', init)];
      expect(mine.headers.referer).toBe(expected());
      expect(mine.headers.referer).toBe(theirs.headers.referer);
    });
  }

  it("deliberate: referrerPolicy 'no-referrer', 'same-origin' (same origin) and 'no-referrer-when-downgrade' follow the standard; Node's fetch does not", async () => {
    const none = { referrer: 'http://example.com/a', referrerPolicy: 'no-referrer' } as const;
    expect((await sent(ours, '/echo', none)).headers.referer).toBeUndefined();
    expect((await sent(node, '/echo', none)).headers.referer).toBe('http://example.com/');
    const same = { referrer: `${server.base}/x`, referrerPolicy: 'same-origin' } as const;
    expect((await sent(ours, '/echo', same)).headers.referer).toBe(`${server.base}/x`);
    expect((await sent(node, '/echo', same)).headers.referer).toBeUndefined();
    const downgrade = { referrer: 'https://example.com/a', referrerPolicy: 'no-referrer-when-downgrade' } as const;
    expect((await sent(ours, '/echo', downgrade)).headers.referer).toBe('https://example.com/a');
    expect((await sent(node, '/echo', downgrade)).headers.referer).toBe('https://example.com/');
  });

  it("deliberate: an undici dispatcher is ignored (the session's options decide); Node's fetch uses it", async () => {
    const init = { dispatcher: { bogus: true } } as unknown as URLSession.FetchInit;
    expect((await rejection(node(`${server.base}/echo`, init))).message).toBe('fetch failed');
    expect((await sent(ours, '/echo?dispatcher', init)).path).toBe('/echo?dispatcher');
  });

  it('priority is accepted and changes nothing the server sees, in both', async () => {
    const init: URLSession.FetchInit = { priority: 'high' };
    const [theirs, mine] = [await sent(node, '/echo', init), await sent(ours, '/echo', init)];
    expect(Object.keys(mine.headers).sort()).toEqual(Object.keys((await sent(ours, '/echo')).headers).sort());
    expect(Object.keys(theirs.headers).sort()).toEqual(Object.keys((await sent(node, '/echo')).headers).sort());
  });
});
