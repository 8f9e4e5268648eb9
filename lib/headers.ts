// Response headers as the promise API shows them: a plain record with lower-case names, in
// Node's own convention (http.IncomingMessage's `headers`). JS thread only.
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Lower-case names. `set-cookie` is always an array, one entry per header line (a cookie's
 * Expires date holds a comma, so joined lines could not be told apart); any other repeated
 * name is joined with ', '.
 */
export type ResponseHeaders = IncomingHttpHeaders;

// Repeats are joined as RFC 9110 5.3 allows, except Set-Cookie (RFC 6265 3: never folded).
// Names are server-chosen, so own-property checks only: `name in out` took "Constructor" for a
// repeat of Object.prototype.constructor, and an assignment to "__proto__" would have been dropped.
export function headerRecord(flat: string[]): ResponseHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i].toLowerCase();
    const seen = Object.hasOwn(out, name);
    if (name === 'set-cookie') {
      if (seen) (out[name] as string[]).push(flat[i + 1]);
      else out[name] = [flat[i + 1]];
      continue;
    }
    const value = seen ? `${out[name]}, ${flat[i + 1]}` : flat[i + 1];
    if (name === '__proto__')
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    else out[name] = value;
  }
  return out;
}
