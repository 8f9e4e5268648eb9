// The Response of fetch() read every way Node's can be: the same sequences of readers (text, json,
// arrayBuffer, bytes, blob, formData, body, clone, bodyUsed, headers) on Node's fetch Response,
// on ours whose body was held whole when it resolved (lib/fetch-response-class.ts reads those
// bytes directly), and on ours whose body was still arriving (a server that holds its last byte
// until the Response exists) must give the same values and the same errors.
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, listenLocal } from '../helpers/listen';
import { sessionMaker } from '../helpers/sessions';

type Observation = unknown[];
// Node 20's Response has bytes() (its declared types do not); ours has it too.
type Readable = Response & { bytes(): Promise<Uint8Array> };
type Script = (response: Readable) => Promise<Observation>;

/** Bodies the server sends, by name: odd text (a BOM, a bad UTF-8 byte), JSON, not JSON, a form. */
const BODIES: Record<string, { type: string; bytes: Buffer }> = {
  text: {
    type: 'text/plain; charset=UTF-8',
    bytes: Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('héllo '),
      Buffer.from([0xff]),
      Buffer.from('!'),
    ]),
  },
  json: { type: 'application/json', bytes: Buffer.from('{"a":[1,2,"ü"]}') },
  broken: { type: 'application/json', bytes: Buffer.from('{"a":') },
  form: { type: 'application/x-www-form-urlencoded', bytes: Buffer.from('a=1&b=x+y&a=%C3%A4') },
  empty: { type: 'text/plain', bytes: Buffer.alloc(0) },
};

let server: http.Server;
let base = '';
// Answers waiting for their last byte (hold=1).
const holding: (() => void)[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = BODIES[url.pathname.slice(1)] ?? BODIES.text;
    res.setHeader('Content-Type', body.type);
    res.setHeader('Content-Length', body.bytes.length);
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    if (url.searchParams.get('hold') === '1' && body.bytes.length > 0) {
      res.write(body.bytes.subarray(0, -1));
      holding.push(() => res.end(body.bytes.subarray(-1)));
    } else {
      res.end(body.bytes);
    }
  });
  base = await listenLocal(server);
});
afterAll(() => closeServer(server));

const session = sessionMaker();

function release(): void {
  for (const end of holding.splice(0)) end();
}

/** What `promise` gives: its value, or its error's name and message. */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return await promise;
  } catch (error) {
    return { error: (error as Error).name, message: (error as Error).message };
  }
}

function attempt(action: () => unknown): unknown {
  try {
    return action();
  } catch (error) {
    return { error: (error as Error).name, message: (error as Error).message };
  }
}

/** Node's Response body getter: null on ours when it holds the body (its readers bypass Node's). */
const nodeBody = (response: Response): unknown => Reflect.get(Response.prototype, 'body', response);

// Our fetch of `url` whose body was held whole, as a small answer's nearly always is (retried if
// it was not, so the path is the one under test).
async function oursHeld(url: string): Promise<Response> {
  for (let tries = 0; tries < 50; tries++) {
    const response = await session().fetch(url);
    if (nodeBody(response) === null) return response;
    await response.arrayBuffer();
  }
  throw new Error('no fetch() held its body whole in 50 tries');
}

// Our fetch of `url` whose body was still arriving: the server sends its last byte only once the
// Response exists.
async function oursStreamed(url: string): Promise<Response> {
  const response = await session().fetch(`${url}?hold=1`);
  expect(nodeBody(response)).toBeInstanceOf(ReadableStream);
  release();
  return response;
}

async function nodeFetch(url: string): Promise<Response> {
  const response = await fetch(`${url}?hold=1`);
  release();
  return response;
}

const SCRIPTS: Record<string, Script> = {
  'text twice': async (r) => [await outcome(r.text()), await outcome(r.text()), r.bodyUsed],
  'json, then arrayBuffer': async (r) => [await outcome(r.json()), await outcome(r.arrayBuffer())],
  'arrayBuffer, bytes': async (r) => {
    const buffer = await r.arrayBuffer();
    return [buffer instanceof ArrayBuffer, Buffer.from(buffer).toString('hex'), await outcome(r.bytes())];
  },
  bytes: async (r) => {
    const bytes = await r.bytes();
    return [bytes instanceof Uint8Array, Buffer.from(bytes).toString('hex'), r.bodyUsed];
  },
  'blob, then text': async (r) => {
    const blob = await r.blob();
    return [blob.type, blob.size, Buffer.from(await blob.arrayBuffer()).toString('hex'), await outcome(r.text())];
  },
  formData: async (r) => {
    const form = await outcome(r.formData());
    return [form instanceof FormData ? [...form] : form, r.bodyUsed];
  },
  'body, then text': async (r) => {
    const before = r.bodyUsed;
    const body = r.body;
    return [before, body instanceof ReadableStream, body === r.body, r.bodyUsed, await outcome(r.text()), r.bodyUsed];
  },
  'body read to its end': async (r) => {
    const parts: Uint8Array[] = [];
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) parts.push(chunk);
    return [Buffer.concat(parts).toString('hex'), r.bodyUsed, await outcome(r.text())];
  },
  'a reader locks the body': async (r) => {
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    return [r.bodyUsed, await outcome(r.text()), attempt(() => r.clone()), reader.constructor.name];
  },
  'clone, both read': async (r) => {
    const copy = r.clone();
    const again = copy.clone();
    const facts = [copy, again].map((each) => [
      each instanceof Response,
      new URL(each.url).pathname,
      each.redirected,
      each.type,
    ]);
    return [facts, await outcome(copy.text()), await outcome(r.arrayBuffer().then((b) => b.byteLength))];
  },
  'clone after a read': async (r) => {
    await r.text();
    return [attempt(() => r.clone()), r.bodyUsed];
  },
  'clone, the copy read first': async (r) => {
    const copy = r.clone();
    return [await outcome(copy.json()), copy.bodyUsed, r.bodyUsed, await outcome(r.json())];
  },
  headers: async (r) => [
    r.headers instanceof Headers,
    r.headers.get('content-type'),
    r.headers.getSetCookie(),
    attempt(() => r.headers.set('x', '1')),
    attempt(() => r.headers.append('x', '1')),
    attempt(() => r.headers.delete('content-type')),
    [...r.headers.keys()].includes('x'),
    attempt(() => r.clone().headers.set('x', '1')),
    await outcome(r.text().then((text) => text.length)),
  ],
  'own keys and status': async (r) => [Object.keys(r), r.status, r.ok, r.statusText, r.type, r.redirected],
};

describe('fetch() Response readers: ours (held and streamed) read as Node’s', () => {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    it(`${name}`, async () => {
      for (const kind of Object.keys(BODIES)) {
        if (kind === 'empty' && name === 'a reader locks the body') continue; // no held byte to stream
        const url = `${base}/${kind}`;
        const theirs = await script((await nodeFetch(url)) as Readable);
        const held = await script((await oursHeld(url)) as Readable);
        expect({ kind, held }).toEqual({ kind, held: theirs });
        if (BODIES[kind].bytes.length === 0) continue;
        const streamed = await script((await oursStreamed(url)) as Readable);
        expect({ kind, streamed }).toEqual({ kind, streamed: theirs });
      }
    });
  }
});

describe('fetch() Response url', () => {
  it('leaves out the request URL’s fragment, as Node’s does, and is not redirected for it', async () => {
    const url = `${base}/text#part`;
    const theirs = await fetch(url);
    const mine = await session().fetch(url);
    expect([mine.url, mine.redirected]).toEqual([theirs.url, theirs.redirected]);
    expect(mine.url).toBe(`${base}/text`);
    await Promise.all([theirs.arrayBuffer(), mine.arrayBuffer()]);
  });
});
