// fetch()'s response side: a streamed request's head and Readable body → the Response of
// lib/fetch-response-class.ts, its body a ReadableStream that asks the engine for more only when
// the reader does (or, for a response already complete, its bytes as they arrived), and the
// task's metrics once the body has ended. JS thread only.
import type { Readable } from 'node:stream';
import { responseClasses } from './fetch-response-class';
import type { AbortError } from './task-errors';
import type { Task } from './task';
import type { StreamResult, TaskMetrics } from './task-types';

// How many body bytes the ReadableStream queues before the engine is paused (the Readable and
// the engine hold their own, smaller, windows behind it).
const QUEUED_BYTES = 256 * 1024;

/** The statuses whose response has no body (Fetch's "null body status"). */
function nullBodyStatus(status: number): boolean {
  return status === 101 || status === 103 || status === 204 || status === 205 || status === 304;
}

export interface ResponseContext {
  requestUrl: string;
  method: string;
  signal: AbortSignal | undefined;
}

/**
 * The task's metrics, listened for from its start: the head, the body and the completion can
 * arrive in one engine batch, all delivered before `done`'s continuation runs.
 */
export function watchMetrics(task: Task<StreamResult>, signal: AbortSignal | undefined): Promise<TaskMetrics> {
  const metrics = new Promise<TaskMetrics>((resolve, reject) => {
    task.once('complete', (completion) => resolve(completion.metrics));
    task.once('error', (error) => reject(bodyError(error, signal)));
  });
  metrics.catch(() => undefined);
  return metrics;
}

/** The Response of a streamed task whose `done` resolved with `head`. */
export function toResponse(
  head: StreamResult,
  task: Task<StreamResult>,
  metrics: Promise<TaskMetrics>,
  context: ResponseContext,
): Response {
  const pairs: string[] = [];
  for (const name in head.headers) {
    const value = head.headers[name];
    if (Array.isArray(value)) for (const each of value) pairs.push(name, each);
    else if (value !== undefined) pairs.push(name, value);
  }
  const status = head.statusCode;
  const empty = context.method === 'HEAD' || nullBodyStatus(status);
  // A body nobody will read still has to reach its end for the task to complete.
  if (empty) head.body.resume();
  const body = empty ? null : responseBody(head.body, task, context.signal);
  // Response.url leaves the fragment out (Fetch: "serialized with exclude fragment").
  const requested = withoutFragment(context.requestUrl);
  const url = head.url === requested ? requested : withoutFragment(new URL(head.url).href);
  const { FetchResponse, ResponseHeaders } = responseClasses();
  return new FetchResponse(body, body instanceof Uint8Array, {
    status,
    statusText: statusCodes()[status] ?? '',
    headers: new ResponseHeaders(pairs),
    url,
    redirected: url !== requested,
    metrics,
  });
}

// node:http's phrases, loaded at the first fetch(): importing node:http (net, the HTTP parser,
// the agents) costs every importer of this library start-up time and memory.
let phrases: Record<number, string | undefined> | undefined;
function statusCodes(): Record<number, string | undefined> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  phrases ??= (require('node:http') as typeof import('node:http')).STATUS_CODES;
  return phrases;
}

function withoutFragment(href: string): string {
  const hash = href.indexOf('#');
  return hash === -1 ? href : href.slice(0, hash);
}

// What a failed body read rejects with, as Node's fetch: the signal's reason for an abort,
// else TypeError('terminated') with our TransferError (code, errorCode) as its cause.
function bodyError(error: unknown, signal: AbortSignal | undefined): unknown {
  if ((error as AbortError).name === 'AbortError' && signal?.aborted === true) return signal.reason;
  return new TypeError('terminated', { cause: error });
}

// A small response usually arrives in one engine batch (head, bytes, completion), all delivered
// before fetch's continuation runs: the Readable then holds the whole body and has ended, so the
// bytes become the Response's body as they are (Response still offers them as a ReadableStream)
// instead of flowing through a second stream. Otherwise the body streams (webStream).
// Exported for the test that compares both paths.
export function responseBody(
  body: Readable,
  task: Task<StreamResult>,
  signal: AbortSignal | undefined,
): Uint8Array | ReadableStream<Uint8Array> {
  if (task.state === 'completed' && !body.destroyed && body.readableFlowing !== true) {
    const whole = body.read() as Buffer | null;
    return whole ?? new Uint8Array(0);
  }
  return webStream(body, task, signal);
}

// The Readable pauses when the ReadableStream's queue is full and resumes on its pull():
// a paused Readable stops reading, and a Readable that does not read stops the engine.
function webStream(
  body: Readable,
  task: Task<StreamResult>,
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        body.on('data', (chunk: Buffer) => {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) body.pause();
        });
        body.once('end', () => {
          if (settled) return;
          settled = true;
          controller.close();
        });
        body.once('error', (error) => {
          if (settled) return;
          settled = true;
          controller.error(bodyError(error, signal));
        });
        body.pause();
      },
      pull() {
        body.resume();
      },
      cancel() {
        settled = true;
        task.cancel();
      },
    },
    { highWaterMark: QUEUED_BYTES, size: (chunk) => chunk.byteLength },
  );
}
