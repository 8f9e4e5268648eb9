// fetch()'s request side: fetch(input, init) → the URL, method, headers and body (bytes, a Blob,
// or the caller's own stream, in init or in a Request input, streamed) that session.request takes. Node's own Request class parses and encodes them, so every default
// Content-Type and a FormData's multipart body (boundary included) are the ones Node's fetch
// would send. JS thread only.
import { ErrorCodes, rangeError, typeError } from './errors';
import { isBodyStream, type BodyStreamSource } from './request-body-stream';

/** What fetch() hands to session.request. */
export interface FetchRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  /**
   * Bytes, a Blob (ours from a download is then sent from its file, never read whole), or the
   * caller's stream (init.body a ReadableStream or async iterable, or a Request input made with
   * a stream body; duplex: 'half'), streamed.
   */
  body: Buffer | Blob | BodyStreamSource | undefined;
  /** None for a fetch(url) without init (nothing can abort it). */
  signal: AbortSignal | undefined;
  /**
   * Node's Request that `signal` is from, to be kept alive as long as the transfer runs: its
   * signal follows the caller's only while the Request lives (undici follows it through a
   * WeakRef), so an abort after a garbage collection would otherwise reach nothing.
   */
  signalOwner?: Request;
  redirect: Request['redirect'];
}

/**
 * Parses fetch's arguments the way Node's fetch does. A bad argument throws a TypeError coded
 * ERR_URLSESSION_INVALID_URL (the URL) or ERR_URLSESSION_INVALID_ARGUMENT (anything else),
 * with Node's own error as its cause.
 */
export function parseFetchArguments(input: unknown, init: RequestInit | undefined): Request {
  try {
    return new Request(input as string | URL | Request, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const code = cause?.code === 'ERR_INVALID_URL' ? ErrorCodes.INVALID_URL : ErrorCodes.INVALID_ARGUMENT;
    throw Object.assign(typeError(code, `fetch: ${(error as Error).message}`), { cause: error });
  }
}

/**
 * The body. The caller's own stream (init.body, or the body of a Request input made with a
 * stream; duplex: 'half') is streamed to the server as it is read, never collected: sent chunked
 * on HTTP/1.1 unless the caller declared a Content-Length. Any other body Node's Request turned
 * into bytes (text, FormData, URLSearchParams, a Request input made with one of them) is
 * collected, at most `limit` bytes (the session's maximumResponseSize); a larger one rejects with
 * a RangeError coded ERR_URLSESSION_OUT_OF_RANGE. Either way the input Request's body is used
 * (bodyUsed), as Node's fetch leaves it: `request` took it over when it was built.
 */
export async function fetchRequestOf(
  request: Request,
  init: RequestInit | undefined,
  limit: number,
): Promise<FetchRequest> {
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) headers[name] = value;
  let body: FetchRequest['body'];
  if (init?.body instanceof Blob) body = init.body;
  // Node's Request locked the caller's stream into its own body stream (the same one for a
  // ReadableStream): that is what is read.
  else if (request.body !== null && (isBodyStream(init?.body) || (init?.body == null && madeFromStream(request))))
    body = request.body;
  else if (request.body !== null) body = await collect(request.body, limit);
  return {
    url: request.url,
    method: request.method,
    headers,
    body,
    signal: request.signal,
    signalOwner: request,
    redirect: request.redirect,
  };
}

/**
 * Whether a Request's body came from a stream rather than from bytes Node already holds. Node's
 * Request says so only in its internal state (undici's body `source`: null for a stream, the
 * bytes, text or Blob otherwise), which a Request built from another one copies. Without that
 * state (another fetch implementation) the body is collected, as any byte body is.
 */
function madeFromStream(request: Request): boolean {
  const state = Object.getOwnPropertySymbols(request).find((symbol) => symbol.description === 'state');
  if (state === undefined) return false;
  const body = (request as unknown as Record<symbol, { body?: { source?: unknown } | null } | undefined>)[state]?.body;
  return body !== undefined && body !== null && body.source === null;
}

async function collect(stream: ReadableStream<Uint8Array>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    // Leaving the loop by a throw cancels the stream (the iterator's return()).
    if (size > limit) {
      throw rangeError(
        `fetch: a body that is not the caller's own stream is held in memory before it is sent, at most maximumResponseSize (${limit} bytes)`,
      );
    }
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(parts, size);
}
