// The loopback server the fetch() tests send the same requests to through Node's fetch and ours:
// it echoes what it received (method, headers, body hash, multipart parts parsed back), sets
// cookies, redirects, answers chosen statuses, and sends large bodies as it is allowed to (a
// reader that stops reading stops it), counting the bytes it handed to the socket.
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { closeServer, listenLocal } from './listen';

/** Byte i of every large body: cheap to make and to check at any size. */
export const BLOCK = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 31 + (i >> 8)) & 0xff));

/** The sha256 of the first `size` bytes of the repeated BLOCK. */
export function blockSha256(size: number): string {
  const hash = createHash('sha256');
  for (let sent = 0; sent < size; sent += BLOCK.length)
    hash.update(BLOCK.subarray(0, Math.min(BLOCK.length, size - sent)));
  return hash.digest('hex');
}

export interface FetchServer {
  base: string;
  /** Bytes written for each /bytes request, by its ?id=. */
  written: Map<string, number>;
  /** Request bodies' byte counts seen by /count, by ?id=, as they arrive. */
  received: Map<string, number>;
  /** Every request's path and query, in order. */
  seen: string[];
  close(): Promise<void>;
}

export async function startFetchServer(): Promise<FetchServer> {
  const written = new Map<string, number>();
  const received = new Map<string, number>();
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    const id = url.searchParams.get('id') ?? '';
    if (url.pathname === '/bytes') return sendBytes(res, Number(url.searchParams.get('size')), id, written);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (url.pathname === '/count') received.set(id, (received.get(id) ?? 0) + chunk.length);
    });
    req.on('end', () => void answer(req, res, url, Buffer.concat(chunks)));
  });
  const base = await listenLocal(server);
  return { base, written, received, seen, close: () => closeServer(server) };
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): Promise<void> {
  const path = url.pathname;
  if (path === '/redirect') {
    res.writeHead(Number(url.searchParams.get('status') ?? 302), { Location: url.searchParams.get('to') ?? '/echo' });
    res.end('moved');
    return;
  }
  if (path === '/status') {
    res.writeHead(Number(url.searchParams.get('code')), { 'Content-Type': 'text/plain' });
    res.end(req.method === 'HEAD' ? undefined : `status ${url.searchParams.get('code')}`);
    return;
  }
  if (path === '/cookies') {
    res.setHeader('Set-Cookie', ['a=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT', 'b=2; Path=/']);
    res.setHeader('X-Repeat', ['one', 'two']);
    res.end('cookies');
    return;
  }
  const contentType = req.headers['content-type'] ?? '';
  let parts: unknown[] = [];
  if (contentType.startsWith('multipart/form-data')) {
    // Parsed back by Node's own multipart parser: the boundary and every part must survive.
    const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
    parts = await Promise.all(
      [...form].map(async ([name, value]) =>
        typeof value === 'string'
          ? { name, value }
          : { name, file: value.name, type: value.type, text: await value.text() },
      ),
    );
  }
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('X-Custom', 'yes');
  res.end(
    JSON.stringify({
      method: req.method,
      path: url.pathname + url.search,
      contentType,
      xTest: req.headers['x-test'] ?? null,
      contentLength: req.headers['content-length'] ?? null,
      bodyLength: body.length,
      bodySha256: createHash('sha256').update(body).digest('hex'),
      boundary: /boundary=(.*)$/.exec(contentType)?.[1] ?? null,
      parts,
    }),
  );
}

// Writes `size` bytes of BLOCK, each write only once the socket took the one before.
function sendBytes(res: http.ServerResponse, size: number, id: string, written: Map<string, number>): void {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });
  let sent = 0;
  written.set(id, 0);
  const next = (): void => {
    while (sent < size) {
      const offset = sent % BLOCK.length;
      const piece = BLOCK.subarray(offset, offset + Math.min(64 * 1024, size - sent));
      sent += piece.length;
      written.set(id, sent);
      if (!res.write(piece)) return void res.once('drain', next);
    }
    res.end();
  };
  res.on('close', () => res.removeAllListeners('drain'));
  next();
}
