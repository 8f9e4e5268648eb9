// NSURLSession's own facts, checked against the engine on this machine. Each test cites where the
// fact comes from: a test of swift-corelibs-foundation's Tests/Foundation/TestURLSession.swift
// (the open-source URLSession's suite, written to match Darwin), a line of the macOS SDK's
// NSURLSession.h, or an Apple documentation page. What still differs on purpose is listed in
// README ("Differences from NSURLSession").
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { waitFor } from '../helpers/wait-for';
import { tempDir } from '../helpers/temp';
import { startRawServer, startSemanticsServer, type Echo, type SemanticsServer } from '../helpers/semantics-server';

let server: SemanticsServer;
let other: SemanticsServer; // another origin (another port), for cross-origin redirects
const sessions: URLSession.Session[] = [];

beforeAll(async () => {
  server = await startSemanticsServer();
  other = await startSemanticsServer();
});
afterAll(async () => {
  await server.close();
  await other.close();
});
afterEach(() => {
  for (const session of sessions.splice(0)) if (session.state === 'active') session.invalidateAndCancel();
});

function session(options: URLSession.SessionConfigurationOptions = {}): URLSession.Session {
  const s = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({
      downloadDirectory: tempDir('urlsession-semantics-'),
      ...options,
    }),
  });
  sessions.push(s);
  return s;
}

/** The request as /echo saw it. */
async function echo(
  s: URLSession.Session,
  url: string,
  options: URLSession.RequestOptions = {},
): Promise<{ result: URLSession.RequestResult; echo: Echo }> {
  const result = await s.request(url, { retry: 0, throwHttpErrors: false, ...options }).done;
  return { result, echo: JSON.parse(result.body.toString()) as Echo };
}

/** How a task ended, and after how many milliseconds. */
async function timed(task: URLSession.Task<any>): Promise<{ errorCode: number; ms: number }> {
  const start = Date.now();
  const errorCode = await task.done.then(
    () => 0,
    (error: unknown) => (error as URLSession.TransferError).errorCode,
  );
  return { errorCode, ms: Date.now() - start };
}

const METHODS = ['HEAD', 'GET', 'PUT', 'POST', 'DELETE'] as const;

describe('timeoutIntervalForRequest is an idle timer', () => {
  // NSURLSession.h:743: "default timeout for requests. This will cause a timeout if no data is
  // transmitted for the given timeout value, and is reset whenever data is transmitted."
  // Apple, URLSessionConfiguration.timeoutIntervalForRequest: "The timer associated with this
  // value is reset whenever new data arrives."
  it.each([0.5, 1])('a stall after 0, 1 or 1,000 body bytes fails with -1001 within %s s + 1 s', async (timeout) => {
    const s = session({ timeoutIntervalForRequest: timeout });
    const outcomes = await Promise.all(
      [0, 1, 1000].map((after) => timed(s.request(`${server.base}/stall?after=${after}`, { retry: 0 }))),
    );
    for (const outcome of outcomes) {
      expect(outcome.errorCode).toBe(-1001);
      expect(outcome.ms).toBeLessThan(timeout * 1000 + 1000);
    }
  });

  it('counts the wait for the response head (a server that never answers) and downloads alike', async () => {
    const s = session({ timeoutIntervalForRequest: 0.5 });
    const silent = await timed(s.request(`${server.base}/stall?after=-1`, { retry: 0 }));
    const download = await timed(s.download(`${server.base}/stall?after=1000`, { retry: 0 }));
    for (const outcome of [silent, download]) {
      expect(outcome.errorCode).toBe(-1001);
      expect(outcome.ms).toBeLessThan(1500);
    }
  });

  it('never fires while bytes keep coming: 1 byte every 300 ms for 3 s with a 1 s timeout succeeds', async () => {
    const s = session({ timeoutIntervalForRequest: 1 });
    const result = await s.request(`${server.base}/trickle?every=300&count=10`, { retry: 0 }).done;
    expect(result.statusCode).toBe(200);
    expect(result.body.toString()).toBe('x'.repeat(10));
  });

  // test_httpTimeout: the request's own timeoutInterval (1 s) wins over the session's (10 s).
  it("a task's timeout overrides the session's", async () => {
    const s = session({ timeoutIntervalForRequest: 10 });
    const outcome = await timed(s.request(`${server.base}/stall?after=1000`, { retry: 0, timeout: 0.5 }));
    expect(outcome.errorCode).toBe(-1001);
    expect(outcome.ms).toBeLessThan(1500);
  });
});

describe('progress is reported after a burst, while the server is silent', () => {
  // Apple, URLSessionTaskDelegate urlSession(_:task:didSendBodyData:...) and
  // URLSessionDownloadDelegate urlSession(_:downloadTask:didWriteData:...): "Periodically informs
  // the delegate" of the bytes transferred; a reported total must not wait for the next bytes.
  it('2 MB then a 3 s stall: downloadprogress reports the 2 MB during the stall', async () => {
    const s = session();
    let reported = 0;
    s.on('downloadprogress', (e) => (reported = e.totalBytesWritten));
    const task = s.download(`${server.base}/burst-stall?size=2000000&stall=3000&tail=1000`, { retry: 0 });
    await waitFor('the burst to leave the server', () => server.burst.sent === 2_000_000, 10_000);
    await waitFor('downloadprogress with the 2,000,000 bytes', () => reported === 2_000_000, 2500);
    expect(server.burst.resumed).toBe(false); // still inside the stall
    const result = await task.done;
    expect(fs.statSync(result.location).size).toBe(2_001_000);
  });
});

describe('redirects', () => {
  // test_httpRedirectionWithCode300: a 300 is the result, with its body; no redirect is followed.
  it('300 is not followed: every method gets the 300 and its body', async () => {
    const s = session();
    for (const method of METHODS) {
      const result = await s.request(`${server.base}/redirect-code/300?to=/echo`, {
        method,
        retry: 0,
        throwHttpErrors: false,
      }).done;
      expect(result.statusCode, method).toBe(300);
      expect(result.metrics.redirectCount, method).toBe(0);
      expect(result.body.toString(), method).toBe(method === 'HEAD' ? '' : `Redirecting to ${method} /echo`);
    }
  });

  // test_httpRedirectionWithCode304: a 304 is the result, with no body.
  it('304 is not followed and has no body', async () => {
    const s = session();
    for (const method of METHODS) {
      const result = await s.request(`${server.base}/redirect-code/304?to=/echo`, {
        method,
        retry: 0,
        throwHttpErrors: false,
      }).done;
      expect(result.statusCode, method).toBe(304);
      expect(result.body.length, method).toBe(0);
    }
  });

  // test_httpRedirectionWithCode301_302: POST becomes GET, every other method is kept.
  it.each([301, 302])('%i: POST becomes GET, other methods are kept', async (code) => {
    const s = session();
    for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
      const { result, echo: seen } = await echo(s, `${server.base}/redirect-code/${code}?to=/echo`, { method });
      expect(result.statusCode, method).toBe(200);
      expect(result.metrics.redirectCount, method).toBe(1);
      expect(seen.uri, method).toBe(`${method === 'POST' ? 'GET' : method} /echo HTTP/1.1`);
    }
    const head = await s.request(`${server.base}/redirect-code/${code}?to=/echo`, { method: 'HEAD', retry: 0 }).done;
    expect(head.statusCode).toBe(200);
    expect(head.url).toBe(`${server.base}/echo`);
    expect(head.body.length).toBe(0);
  });

  // test_httpRedirectionWithCode303 and test_dataTaskWithHTTPBodyRedirect: 303 turns a request
  // into a GET without its body.
  it('303: GET, PUT, POST and DELETE become a GET without the body', async () => {
    const s = session();
    for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
      const { result, echo: seen } = await echo(s, `${server.base}/redirect-code/303?to=/echo`, {
        method,
        body: method === 'GET' ? undefined : 'foo=bar',
      });
      expect(result.statusCode, method).toBe(200);
      expect(seen.uri, method).toBe('GET /echo HTTP/1.1');
      expect(seen.body, method).toBe('');
    }
  });

  // test_httpRedirectionWithCode305_308 (307 and 308): the method and the body are kept.
  it.each([307, 308])('%i: the method and the body go to the new location', async (code) => {
    const s = session();
    for (const method of ['GET', 'PUT', 'POST', 'DELETE', 'PATCH']) {
      const body = method === 'GET' ? undefined : `body of ${method}`;
      const { result, echo: seen } = await echo(s, `${server.base}/redirect-code/${code}?to=/echo`, { method, body });
      expect(result.statusCode, method).toBe(200);
      expect(seen.uri, method).toBe(`${method} /echo HTTP/1.1`);
      expect(Buffer.from(seen.body, 'base64').toString(), method).toBe(body ?? '');
    }
  });

  // test_httpRedirectionWithInCompleteRelativePath and test_httpRedirectionWithEncodedQuery: a
  // relative Location resolves against the redirecting URL, its query kept as sent.
  it('a relative Location with a query resolves against the redirecting URL', async () => {
    const s = session();
    const { result, echo: seen } = await echo(
      s,
      `${server.base}/redirect-code/303?to=${encodeURIComponent('echo?param=foo%20bar')}`,
    );
    expect(result.url).toBe(`${server.base}/redirect-code/echo?param=foo%20bar`);
    expect(seen.uri).toBe('GET /redirect-code/echo?param=foo%20bar HTTP/1.1');
  });

  // test_redirectionWithSetCookies: a cookie set by the redirect goes with the next request.
  it('a cookie the redirect sets is sent to the new location', async () => {
    const s = session();
    const { echo: seen } = await echo(
      s,
      `${server.base}/redirect-code/302?to=/echo&cookie=${encodeURIComponent('redirect=true')}`,
    );
    expect(seen.headers.cookie).toBe('redirect=true');
  });

  // Headers survive a redirect (test_httpRedirectionChainInheritsTimeoutInterval keeps the
  // request's settings along the chain); credentials do not leave their origin.
  it("the request's headers follow a redirect; Authorization and Cookie stay with their origin", async () => {
    const s = session({ HTTPHeaderFields: { 'X-Session': 'kept' } });
    const headers = { 'X-Custom': 'kept', Authorization: 'Bearer secret', Cookie: 'mine=1' };
    const same = await echo(s, `${server.base}/redirect-code/302?to=/echo`, { headers });
    expect(same.echo.headers).toMatchObject({
      'x-custom': 'kept',
      'x-session': 'kept',
      authorization: 'Bearer secret',
      cookie: 'mine=1',
    });
    const away = await echo(s, `${server.base}/redirect-code/302?to=${encodeURIComponent(`${other.base}/echo`)}`, {
      headers,
    });
    expect(away.result.url).toBe(`${other.base}/echo`);
    expect(away.echo.headers).toMatchObject({ 'x-custom': 'kept', 'x-session': 'kept' });
    expect(away.echo.headers.authorization).toBeUndefined();
    expect(away.echo.headers.cookie).toBeUndefined();
  });

  // Differences on purpose (README, "Differences from NSURLSession"): test_httpRedirectionWithCode305_308
  // follows 305 and 306 and test_httpRedirectionWithCode303 turns a HEAD into a GET; here 305
  // (deprecated, RFC 9110 15.4.6) and 306 (unused, 15.4.7) are the answer, and a 303 keeps a HEAD
  // a HEAD ("a user agent can perform a retrieval request", 15.4.4), as libcurl did.
  it('305 and 306 are the answer; a 303 keeps a HEAD a HEAD', async () => {
    const s = session();
    for (const code of [305, 306]) {
      const result = await s.request(`${server.base}/redirect-code/${code}?to=/echo`, {
        retry: 0,
        throwHttpErrors: false,
      }).done;
      expect(result.statusCode).toBe(code);
      expect(result.body.toString()).toBe('Redirecting to GET /echo');
    }
    const head = await s.request(`${server.base}/redirect-code/303?to=/echo`, { method: 'HEAD', retry: 0 }).done;
    expect(head.statusCode).toBe(200);
    expect(head.url).toBe(`${server.base}/echo`);
    expect(head.body.length).toBe(0);
  });

  it('maximumRedirects counts followed redirects only: a 300 at the limit is still the result', async () => {
    const s = session({ maximumRedirects: 1 });
    const result = await s.request(
      `${server.base}/redirect-code/302?to=${encodeURIComponent('/redirect-code/300?to=/echo')}`,
      { retry: 0, throwHttpErrors: false },
    ).done;
    expect(result.statusCode).toBe(300);
    expect(result.metrics.redirectCount).toBe(1);
    const refused = await timed(
      s.request(`${server.base}/redirect-code/302?to=${encodeURIComponent('/redirect-code/307?to=/echo')}`, {
        retry: 0,
      }),
    );
    expect(refused.errorCode).toBe(-1007);
  });
});

describe('request bodies and Content-Type', () => {
  // test_requestWithEmptyBody and test_postWithEmptyBody: an empty (or absent) body carries no
  // Content-Type for any method, unless the caller sets one.
  it('an absent or empty body carries no Content-Type, whatever the method', async () => {
    const s = session();
    for (const method of ['GET', 'PUT', 'POST', 'PATCH', 'DELETE']) {
      for (const body of [undefined, Buffer.alloc(0)]) {
        if (method === 'GET' && body !== undefined) continue;
        const { result, echo: seen } = await echo(s, `${server.base}/empty-post`, { method, body });
        expect(result.statusCode, method).toBe(200);
        expect(
          seen.headers['content-type'],
          `${method} ${body === undefined ? 'without' : 'with an empty'} body`,
        ).toBeUndefined();
        const typed = await echo(s, `${server.base}/empty-post`, {
          method,
          body,
          headers: { 'Content-Type': 'text/plain; charset=utf-8' },
        });
        expect(typed.echo.headers['content-type'], method).toBe('text/plain; charset=utf-8');
      }
    }
    const empty = path.join(tempDir('urlsession-semantics-body-'), 'empty');
    fs.writeFileSync(empty, '');
    const upload = await s.upload(`${server.base}/empty-post`, empty, { retry: 0 }).done;
    expect((JSON.parse(upload.body.toString()) as Echo).headers['content-type']).toBeUndefined();
  });

  // test_requestWithNonEmptyBody ("Only POST sets a default Content-Type if it is nil") and
  // swift-corelibs-foundation's HTTPURLProtocol.swift (POST with a body or a stream and no
  // Content-Type: application/x-www-form-urlencoded); the other methods get none.
  it('a non-empty POST body without a Content-Type is sent as application/x-www-form-urlencoded; other methods get none', async () => {
    const s = session();
    const file = path.join(tempDir('urlsession-semantics-body-'), 'body');
    fs.writeFileSync(file, 'This is a request body');
    for (const method of ['PUT', 'POST', 'PATCH', 'DELETE']) {
      const expected = method === 'POST' ? 'application/x-www-form-urlencoded' : undefined;
      const bytes = await echo(s, `${server.base}/echo`, { method, body: Buffer.from('This is a request body') });
      expect(bytes.echo.headers['content-type'], `${method} Buffer`).toBe(expected);
      expect(bytes.echo.headers['content-length'], method).toBe('22');
      const upload = await s.upload(`${server.base}/echo`, file, { method, retry: 0 }).done;
      expect((JSON.parse(upload.body.toString()) as Echo).headers['content-type'], `${method} file`).toBe(expected);
    }
    const json = await echo(s, `${server.base}/echo`, { method: 'POST', body: { a: 1 } });
    expect(json.echo.headers['content-type']).toBe('application/json');
  });

  // test_verifyHttpAdditionalHeaders: a request's header replaces the session's of the same name
  // (case-insensitively); the session's others are added.
  it("a request's headers win over HTTPHeaderFields of the same name, case-insensitively", async () => {
    const s = session({ HTTPHeaderFields: { header2: 'svalue2', header3: 'svalue3', header4: 'svalue4' } });
    const { echo: seen } = await echo(s, `${server.base}/echo`, {
      method: 'POST',
      headers: { header1: 'rvalue1', header2: 'rvalue2', Header4: 'rvalue4' },
    });
    expect(seen.headers).toMatchObject({
      header1: 'rvalue1',
      header2: 'rvalue2',
      header3: 'svalue3',
      header4: 'rvalue4',
    });
  });
});

describe('responses', () => {
  // test_requestWithEmptyBody (HEAD): a response but no body.
  it('HEAD: the head, no body', async () => {
    const result = await session().request(`${server.base}/echo`, { method: 'HEAD', retry: 0 }).done;
    expect(result.statusCode).toBe(200);
    expect(Number(result.headers['content-length'])).toBeGreaterThan(0);
    expect(result.body.length).toBe(0);
  });

  // test_httpNotFound: a 404 is a response, not an error (the task succeeds with it).
  it('404 is a response with its body: sessioncompleted reports success', async () => {
    const s = session();
    const events: URLSession.SessionCompletedEvent[] = [];
    s.on('sessioncompleted', (e) => events.push(e));
    const result = await s.request(`${server.base}/nowhere`, { retry: 0, throwHttpErrors: false }).done;
    expect(result.statusCode).toBe(404);
    await waitFor('sessioncompleted', () => events.length === 1);
    expect(events[0]).toMatchObject({ success: true, errorCode: 0, statusCode: 404 });
  });

  // RFC 9110 15.3.5 / 15.4.5, as test_httpRedirectionWithCode304 checks: 204 and 304 have no body.
  it('204 and 304 have no body', async () => {
    const s = session();
    for (const code of [204, 304]) {
      const result = await s.request(`${server.base}/status/${code}`, { retry: 0, throwHttpErrors: false }).done;
      expect(result.statusCode).toBe(code);
      expect(result.body.length).toBe(0);
    }
  });

  // test_outOfRangeButCorrectlyFormattedHTTPCode: a well-formed status outside the registry (999)
  // is still a response.
  it('status 999 is a response', async () => {
    const result = await session().request(`${server.base}/status/999`, { retry: 0, throwHttpErrors: false }).done;
    expect(result.statusCode).toBe(999);
  });

  // test_basicAuthChallenge_whenNoCredentialsAvailable_completesWithResponse: a 401 challenge the
  // client has no credentials for completes with the 401, it does not hang.
  it('401 with a challenge and no credentials completes with the 401', async () => {
    const result = await session().request(`${server.base}/auth/basic`, { retry: 0, throwHttpErrors: false }).done;
    expect(result.statusCode).toBe(401);
    expect(result.body.toString()).toBe('unauthorized');
  });

  // test_dataTaskAcceptsResponseHeaderValueWithoutWhitespace and test_missingContentLengthButStillABody.
  it('a header without a space after its colon, and a body without Content-Length (ended by the close)', async () => {
    const raw = await startRawServer(
      'HTTP/1.1 200 OK\r\nContent-Type:text/plain\r\nConnection: close\r\n\r\nHello, world!',
    );
    try {
      const result = await session().request(`${raw.base}/`, { retry: 0 }).done;
      expect(result.statusCode).toBe(200);
      expect(result.headers['content-type']).toBe('text/plain');
      expect(result.body.toString()).toBe('Hello, world!');
    } finally {
      await raw.close();
    }
  });

  // test_dataTaskWithAcceptEncoding: NSURLSession offers br among its encodings (and decodes it).
  it('Accept-Encoding offers gzip, deflate and br', async () => {
    const { echo: seen } = await echo(session(), `${server.base}/echo`);
    const offered = String(seen.headers['accept-encoding'])
      .split(',')
      .map((e) => e.trim());
    expect(offered).toEqual(expect.arrayContaining(['gzip', 'deflate', 'br']));
  });

  // test_checkErrorTypeAfterInvalidateAndCancel: invalidateAndCancel ends a running task with -999.
  it('invalidateAndCancel ends a running task with -999', async () => {
    const s = session();
    const events: URLSession.SessionCompletedEvent[] = [];
    s.on('sessioncompleted', (e) => events.push(e));
    const id = s.dataTask({ url: `${server.base}/stall?after=10` });
    s.invalidateAndCancel();
    await waitFor('sessioncompleted', () => events.length === 1);
    expect(events[0]).toMatchObject({ taskIdentifier: id, success: false, errorCode: -999 });
  });

  // test_gzippedDataTask and test_gzippedDownloadTask: a gzip body is decoded, and a download
  // reports (and writes) the decoded length.
  it('gzip: the data task gets the decoded text; the download writes and reports its decoded length', async () => {
    const s = session();
    const data = await s.request(`${server.base}/gzip`, { retry: 0 }).done;
    expect(data.body.toString()).toBe('Hello World!');
    let written = 0;
    s.on('downloadprogress', (e) => (written = e.totalBytesWritten));
    const download = await s.download(`${server.base}/gzip`, { retry: 0 }).done;
    expect(fs.readFileSync(download.location, 'utf8')).toBe('Hello World!');
    expect(written).toBe('Hello World!'.length);
  });
});
