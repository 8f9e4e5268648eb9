// fetch() over a session: the standard fetch(input, init) → Promise<Response>, sent by the
// session's engine as a streamed request (session.request(url, { stream: true })). Failures
// are what fetch users expect: TypeError('fetch failed') with our coded error as its cause, and
// an abort rejects with the signal's reason. JS thread only.
import { ErrorCodes } from './errors';
import { fetchRequestOf, parseFetchArguments, type FetchRequest } from './fetch-body';
import { fetchIntegrity, verifiedHead } from './fetch-integrity';
import { addCacheHeaders, DEFAULT_MODES, fetchLocally, modeOptions } from './fetch-modes';
import { refererOf } from './fetch-referrer';
import { toResponse, watchMetrics } from './fetch-response';
import type { Session } from './session';
import type { Task } from './task';
import type { CacheMode } from './task-options';
import type { StreamResult, TaskMetrics } from './task-types';

/** The statuses fetch follows (Fetch standard: a redirect status): 'error' rejects on them. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * fetch()'s init: Node's RequestInit with the members its types leave out (`cache`, `priority`).
 * Node's Request checks them all; mode, priority and dispatcher are ignored (README "fetch()").
 */
export type FetchInit = RequestInit & { cache?: CacheMode; priority?: 'high' | 'low' | 'auto' };

/**
 * Each running task's Node Request, kept while the task lives (the session's task table holds a
 * running task): the Request's signal is the one the task listens to (FetchRequest.signalOwner).
 */
const signalOwners = new WeakMap<Task<StreamResult>, Request>();

/** session.fetch and URLSession.fetch. */
export async function fetchThrough(
  session: Session,
  input: string | URL | Request,
  init?: FetchInit,
): Promise<Response> {
  const plain = plainGet(input, init);
  if (plain !== undefined) return send(session, plain, DEFAULT_MODES, undefined);
  const request = parseFetchArguments(input, init);
  if (request.signal.aborted) throw request.signal.reason;
  const local = fetchLocally(request);
  if (local !== undefined) return local;
  const prepared = await fetchRequestOf(request, init, session.configuration.maximumResponseSize);
  addCacheHeaders(request.cache, prepared.headers);
  const referer = refererOf(request);
  if (referer !== undefined) prepared.headers.referer ??= referer;
  return send(session, prepared, modeOptions(request), fetchIntegrity(request.integrity));
}

/**
 * fetch(url) and fetch(url, {}) of an http(s) URL: what Node's Request would give for them (a GET
 * with no headers, no body, no signal, the default modes) without making one, which is a large
 * part of a small fetch's cost (bench/ANALYSIS.md, "fetch()'s own layer"). Anything else, and a
 * URL that does not parse or carries credentials (Node's Request throws its own errors for
 * those), is undefined: Node's Request parses it.
 */
function plainGet(input: unknown, init: FetchInit | undefined): FetchRequest | undefined {
  if (init !== undefined && !emptyPlainObject(init)) return undefined;
  let url: URL;
  if (input instanceof URL) url = input;
  else if (typeof input === 'string' && URL.canParse(input)) url = new URL(input);
  else return undefined;
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
    return undefined;
  }
  return { url: url.href, method: 'GET', headers: {}, body: undefined, signal: undefined, redirect: 'follow' };
}

function emptyPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const _ in value) return false;
  return true;
}

// Sends the request fetch() prepared and turns its answer into the Response.
async function send(
  session: Session,
  prepared: FetchRequest,
  modes: ReturnType<typeof modeOptions>,
  integrity: ReturnType<typeof fetchIntegrity>,
): Promise<Response> {
  const limit = session.configuration.maximumResponseSize;
  let head: StreamResult;
  let task: Task<StreamResult>;
  let metrics: Promise<TaskMetrics>;
  try {
    task = session.request(prepared.url, {
      method: prepared.method,
      headers: prepared.headers,
      body: prepared.body,
      signal: prepared.signal,
      stream: true,
      throwHttpErrors: false,
      retry: 0,
      // 'manual': the 3xx is the response; 'error': it is checked below.
      followRedirects: prepared.redirect === 'follow',
      ...modes,
    });
    if (prepared.signalOwner !== undefined) signalOwners.set(task, prepared.signalOwner);
    metrics = watchMetrics(task, prepared.signal);
    head = await task.done;
  } catch (error) {
    throw fetchFailure(error, prepared.signal);
  }
  if (prepared.redirect === 'error' && REDIRECT_STATUSES.has(head.statusCode) && head.headers.location !== undefined) {
    task.cancel();
    head.body.destroy();
    throw new TypeError('fetch failed', {
      cause: Object.assign(new Error('unexpected redirect'), { code: ErrorCodes.UNEXPECTED_REDIRECT }),
    });
  }
  if (integrity !== undefined) {
    try {
      head = await verifiedHead(head, integrity, limit);
    } catch (error) {
      task.cancel(); // a body too large to check is not read on
      throw fetchFailure(error, prepared.signal);
    }
  }
  return toResponse(head, task, metrics, {
    requestUrl: prepared.url,
    method: prepared.method,
    signal: prepared.signal,
  });
}

// What fetch() rejects with for `error`: the signal's reason for an abort, else
// TypeError('fetch failed') with `error` (coded) as its cause.
function fetchFailure(error: unknown, signal: AbortSignal | undefined): unknown {
  if ((error as Error).name === 'AbortError' && signal?.aborted === true) return signal.reason;
  return new TypeError('fetch failed', { cause: error });
}
