// fetch()'s request side: fetch(input, init) → the URL, method, headers and body bytes that
// session.request takes. Node's own Request class parses and encodes them, so every default
// Content-Type and a FormData's multipart body (boundary included) are the ones Node's fetch
// would send. JS thread only.
import { ErrorCodes, rangeError, typeError } from './errors';

/** What fetch() hands to session.request. */
export interface FetchRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  /** Bytes, or a Blob (ours from a download is then sent from its file, never read whole). */
  body: Buffer | Blob | undefined;
  signal: AbortSignal;
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
 * The body's bytes. A ReadableStream body (duplex: 'half') is collected in memory, at most
 * `limit` bytes (the session's maximumResponseSize): the engines do not stream request bodies
 * from JS yet. A larger one rejects with a RangeError coded ERR_URLSESSION_OUT_OF_RANGE.
 */
export async function fetchRequestOf(
  request: Request,
  init: RequestInit | undefined,
  limit: number,
): Promise<FetchRequest> {
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) headers[name] = value;
  let body: Buffer | Blob | undefined;
  if (init?.body instanceof Blob) body = init.body;
  else if (request.body !== null) body = await collect(request.body, limit);
  return {
    url: request.url,
    method: request.method,
    headers,
    body,
    signal: request.signal,
    redirect: request.redirect,
  };
}

async function collect(stream: ReadableStream<Uint8Array>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    // Leaving the loop by a throw cancels the stream (the iterator's return()).
    if (size > limit) {
      throw rangeError(
        `fetch: a ReadableStream body is held in memory before it is sent, at most maximumResponseSize (${limit} bytes)`,
      );
    }
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(parts, size);
}
