// fetch()'s two ways to a Response body: a response whose head, bytes and completion were all
// delivered before fetch() resolves hands its bytes over as they are (lib/fetch-response.ts
// responseBody), one still arriving streams through a ReadableStream fed with backpressure. Both
// give the same status, headers, bytes and metrics; the test drives each path on purpose (a
// server that holds the second half of its body until the Response exists).
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseBody } from '../../lib/fetch-response';
import { metricsOf } from '../../lib/index';
import { closeServer, listenLocal } from '../helpers/listen';
import { sessionMaker } from '../helpers/sessions';
import { waitFor } from '../helpers/wait-for';

const BODY = Buffer.concat([Buffer.alloc(600, 'x'), Buffer.alloc(600, 'y')]);
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

let server: http.Server;
let base = '';
// Answers of /held waiting for their second half.
const held: http.ServerResponse[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', BODY.length);
    res.setHeader('X-Repeat', ['one', 'two']);
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    if (req.url === '/held') {
      res.write(BODY.subarray(0, 600));
      held.push(res);
    } else {
      res.end(BODY);
    }
  });
  base = await listenLocal(server);
});
afterAll(() => closeServer(server));

const session = sessionMaker();

function releaseHeld(): void {
  for (const res of held.splice(0)) res.end(BODY.subarray(600));
}

async function readChunks(body: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(parts);
    parts.push(value);
  }
}

describe('fetch() Response bodies: complete on arrival, or streamed', () => {
  it('a request that completed before its body is read hands over its bytes; one still arriving streams', async () => {
    const s = session();
    const whole = s.request(`${base}/whole`, { stream: true, retry: 0 });
    const wholeHead = await whole.done;
    await waitFor('the whole response to complete', () => whole.state === 'completed');
    const bytes = responseBody(wholeHead.body, whole, new AbortController().signal);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(sha(bytes as Uint8Array)).toBe(sha(BODY));

    const streamed = s.request(`${base}/held`, { stream: true, retry: 0 });
    const streamedHead = await streamed.done;
    expect(streamed.state).toBe('running');
    const stream = responseBody(streamedHead.body, streamed, new AbortController().signal);
    expect(stream).toBeInstanceOf(ReadableStream);
    releaseHeld();
    expect(sha(await readChunks(stream as ReadableStream<Uint8Array>))).toBe(sha(BODY));
  });

  it('both paths give the same status, headers, bytes (read whole and through body) and metrics', async () => {
    const s = session();
    const results = [];
    for (const path of ['/whole', '/held']) {
      for (const read of ['arrayBuffer', 'reader'] as const) {
        const pending = s.fetch(`${base}${path}`);
        if (path === '/held') await waitFor('the held answer', () => held.length === 1);
        const response = await pending;
        releaseHeld();
        expect(response.body).toBeInstanceOf(ReadableStream);
        const bytes =
          read === 'arrayBuffer' ? Buffer.from(await response.arrayBuffer()) : await readChunks(response.body!);
        const headers = [...response.headers].filter(([name]) => name !== 'date');
        const metrics = await metricsOf(response);
        results.push({
          status: response.status,
          statusText: response.statusText,
          url: response.url,
          headers,
          setCookie: response.headers.getSetCookie(),
          sha: sha(bytes),
          bodyUsed: response.bodyUsed,
          metrics: typeof metrics.totalMs,
        });
      }
    }
    expect(results[0]).toEqual({
      status: 200,
      statusText: 'OK',
      url: `${base}/whole`,
      headers: expect.arrayContaining([
        ['content-length', String(BODY.length)],
        ['content-type', 'application/octet-stream'],
        ['x-repeat', 'one, two'],
      ]),
      setCookie: ['a=1', 'b=2'],
      sha: sha(BODY),
      bodyUsed: true,
      metrics: 'number',
    });
    for (const result of results.slice(1))
      expect({ ...result, url: result.url.replace('/held', '/whole') }).toEqual(results[0]);
  });
});
