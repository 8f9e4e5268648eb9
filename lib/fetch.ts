// fetch() over a session: the standard fetch(input, init) → Promise<Response>, sent by the
// session's engine as a streamed request (session.request(url, { stream: true })). Failures
// are what fetch users expect: TypeError('fetch failed') with our coded error as its cause, and
// an abort rejects with the signal's reason. JS thread only.
import { ErrorCodes } from './errors';
import { fetchRequestOf, parseFetchArguments } from './fetch-body';
import { keepOnClone } from './fetch-clone';
import { fetchIntegrity, verifiedHead } from './fetch-integrity';
import { addCacheHeaders, fetchLocally, modeOptions } from './fetch-modes';
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

/** session.fetch and URLSession.fetch. */
export async function fetchThrough(
  session: Session,
  input: string | URL | Request,
  init?: FetchInit,
): Promise<Response> {
  const request = parseFetchArguments(input, init);
  if (request.signal.aborted) throw request.signal.reason;
  const local = fetchLocally(request);
  if (local !== undefined) return local;
  const limit = session.configuration.maximumResponseSize;
  const prepared = await fetchRequestOf(request, init, limit);
  addCacheHeaders(request.cache, prepared.headers);
  const referer = refererOf(request);
  if (referer !== undefined) prepared.headers.referer ??= referer;
  const integrity = fetchIntegrity(request.integrity);
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
      ...modeOptions(request),
    });
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
  const response = toResponse(head, task, metrics, {
    requestUrl: prepared.url,
    method: prepared.method,
    signal: prepared.signal,
  });
  return keepOnClone(response);
}

// What fetch() rejects with for `error`: the signal's reason for an abort, else
// TypeError('fetch failed') with `error` (coded) as its cause.
function fetchFailure(error: unknown, signal: AbortSignal): unknown {
  if ((error as Error).name === 'AbortError' && signal.aborted) return signal.reason;
  return new TypeError('fetch failed', { cause: error });
}
