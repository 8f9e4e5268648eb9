// fetch()'s request modes as the engines take them: `credentials` as the task's cookie use, `cache`
// as its cache mode plus the request headers Node's fetch adds for that mode, and the schemes no
// network answers (data:, blob:), which go to Node's own fetch. JS thread only.
import type { RequestOptions } from './task-options';

/** Node's fetch as this module found it: a caller may replace globalThis.fetch with ours. */
const nodeFetch = globalThis.fetch;

/** URLs answered in-process, without a network: Node's fetch resolves them as it does. */
const LOCAL_SCHEMES = new Set(['data:', 'blob:']);

/** Node's fetch for a data: or blob: URL, else undefined (the session sends the request). */
export function fetchLocally(request: Request): Promise<Response> | undefined {
  return LOCAL_SCHEMES.has(new URL(request.url).protocol) ? nodeFetch(request) : undefined;
}

/** The session.request options of a Request's default credentials and cache modes. */
export const DEFAULT_MODES: Pick<RequestOptions, 'credentials' | 'cache'> = {
  credentials: 'include',
  cache: 'default',
};

/**
 * The session.request options of `request`'s credentials and cache modes. 'same-origin' (the
 * default) and 'include' send the session's cookies: outside a page every request is its own
 * origin's.
 */
export function modeOptions(request: Request): Pick<RequestOptions, 'credentials' | 'cache'> {
  return { credentials: request.credentials === 'omit' ? 'omit' : 'include', cache: request.cache };
}

/**
 * Adds what Node's fetch (the Fetch standard, "HTTP-network-or-cache fetch") sends for a cache
 * mode unless the caller set it: Pragma and Cache-Control no-cache for 'no-store' and 'reload',
 * Cache-Control max-age=0 for 'no-cache'. `headers` has lower-case names (a Headers' iteration).
 */
export function addCacheHeaders(mode: Request['cache'], headers: Record<string, string>): void {
  if (mode === 'no-store' || mode === 'reload') {
    headers.pragma ??= 'no-cache';
    headers['cache-control'] ??= 'no-cache';
  } else if (mode === 'no-cache') {
    headers['cache-control'] ??= 'max-age=0';
  }
}
