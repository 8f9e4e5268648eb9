// Pieces every CLI command shares: header flags, usage errors, session creation, Ctrl-C.
import * as URLSession from '../index';

/** A usage error: exit code 2 with the usage text. */
export class UsageError extends Error {}

/** -H 'Name: value' flags to a header object. */
export function parseHeaders(values: string[] | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values ?? []) {
    const colon = value.indexOf(':');
    if (colon <= 0) throw new UsageError(`bad header "${value}": use -H 'Name: value'`);
    headers[value.slice(0, colon).trim()] = value.slice(colon + 1).trim();
  }
  return headers;
}

/** A session for one CLI run: persistent when --session names one, anonymous otherwise. */
export function openSession(identifier: string | undefined): URLSession.Session {
  const configuration = URLSession.createSessionConfiguration(
    identifier === undefined ? { HTTPMaximumConnectionsPerHost: 8 } : { identifier, HTTPMaximumConnectionsPerHost: 8 },
  );
  return URLSession.createSession({ configuration });
}

/** A transfer failure for people: the URL, the code and the cause. */
export function describeFailure(url: string, error: unknown): string {
  if (error instanceof URLSession.HTTPError) return `${url}: HTTP ${error.statusCode}`;
  if (error instanceof URLSession.TransferError || error instanceof URLSession.AbortError) {
    return `${url}: error ${error.errorCode}: ${error.message}`;
  }
  return `${url}: ${error instanceof Error ? error.message : String(error)}`;
}

/** Runs `onInterrupt` at the first Ctrl-C; a second Ctrl-C exits at once. */
export function onInterrupt(handler: () => void): () => void {
  let interrupted = false;
  const listener = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    handler();
  };
  process.on('SIGINT', listener);
  return () => process.off('SIGINT', listener);
}
