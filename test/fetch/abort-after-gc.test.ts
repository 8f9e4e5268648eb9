// An abort reaches a fetch() whatever the garbage collector did in between. fetch() parses its
// arguments with Node's Request, whose signal follows the caller's only while that Request lives
// (undici follows it through a WeakRef): a Request nothing held any more was collected, and an
// abort after that was lost, the transfer running on to its end. Each case collects garbage
// (gc(), exposed for this file) between the start and the abort: before the response, while a
// streamed body is sent, and while the response body is read.
import * as http from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, listenLocal } from '../helpers/listen';
import { readUntilError } from '../helpers/read-error';
import { sessionMaker } from '../helpers/sessions';
import { waitFor } from '../helpers/wait-for';
import { rejection } from '../helpers/rejection';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let server: http.Server;
let base = '';
/** Requests the server has seen, by path, and whether each one's connection closed early. */
const seen = new Map<string, { received: number; closed: boolean }>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const entry = { received: 0, closed: false };
    seen.set(req.url ?? '', entry);
    req.on('data', (chunk: Buffer) => (entry.received += chunk.length));
    res.on('close', () => (entry.closed = !res.writableFinished));
    if (req.url === '/body') {
      // A body that never ends: only an abort ends this response.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.write(Buffer.alloc(64 * 1024, 1));
    }
    // Every other path never answers.
  });
  base = await listenLocal(server);
});
afterAll(() => closeServer(server));

const session = sessionMaker();

function collect(): void {
  gc();
  gc();
}

describe('fetch() aborted after a garbage collection', () => {
  it('before the response: rejects with the reason, and the request is cut', async () => {
    const controller = new AbortController();
    const pending = session().fetch(`${base}/silent`, { signal: controller.signal });
    await waitFor('the server to see the request', () => seen.has('/silent'));
    collect();
    const reason = new Error('stop waiting');
    controller.abort(reason);
    expect(await rejection(pending)).toBe(reason);
    await waitFor('the server to see the connection close', () => seen.get('/silent')?.closed === true);
  });

  it('while a streamed body is sent: rejects with the reason, and the stream is cancelled', async () => {
    const controller = new AbortController();
    let cancelled = false;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(stream) {
        pulled += 1;
        stream.enqueue(new Uint8Array(16 * 1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    const pending = session().fetch(`${base}/upload`, {
      method: 'POST',
      body,
      duplex: 'half',
      signal: controller.signal,
    } as RequestInit);
    await waitFor('the server to receive part of the body', () => (seen.get('/upload')?.received ?? 0) > 0);
    collect();
    const reason = new Error('stop sending');
    controller.abort(reason);
    expect(await rejection(pending)).toBe(reason);
    await waitFor('the caller’s stream to be cancelled', () => cancelled);
    const pulledAtCancel = pulled;
    await waitFor('the server to see the connection close', () => seen.get('/upload')?.closed === true);
    expect(pulled).toBe(pulledAtCancel);
  });

  it('while the response body is read: the read rejects with the reason, and the response is cut', async () => {
    const controller = new AbortController();
    const response = await session().fetch(`${base}/body`, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect((await reader.read()).done).toBe(false);
    collect();
    const reason = new Error('stop reading');
    controller.abort(reason);
    expect(await readUntilError(reader)).toBe(reason);
    await waitFor('the server to see the connection close', () => seen.get('/body')?.closed === true);
  });
});
