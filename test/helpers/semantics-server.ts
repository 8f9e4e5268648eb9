// The loopback HTTP/1.1 server of nsurlsession-semantics.test.ts: routes shaped after the ones
// swift-corelibs-foundation's TestURLSession.swift uses (an echo of the request, redirects by
// status code, stalls and trickles for the timeouts, a burst then a stall for progress).
// Listens on 127.0.0.1 only; every stalled response is ended by close().
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';

export interface SemanticsServer {
  base: string;
  /** Bytes a /burst-stall response has handed to the socket, and whether its stall is over. */
  burst: { sent: number; resumed: boolean };
  close(): Promise<void>;
}

/** What /echo answers: the request as the server saw it. */
export interface Echo {
  method: string;
  uri: string;
  headers: http.IncomingHttpHeaders;
  body: string; // base64
}

const number = (url: URL, name: string, fallback: number): number => {
  const value = url.searchParams.get(name);
  return value === null ? fallback : Number(value);
};

export async function startSemanticsServer(): Promise<SemanticsServer> {
  const open = new Set<http.ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, run: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };
  const burst = { sent: 0, resumed: false };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const route = url.pathname;
      open.add(res);
      res.on('close', () => open.delete(res));

      if (route.endsWith('/echo') || route === '/empty-post') {
        const echo: Echo = {
          method: req.method ?? '',
          uri: `${req.method} ${req.url} HTTP/${req.httpVersion}`,
          headers: req.headers,
          body: body.toString('base64'),
        };
        const text = JSON.stringify(echo);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      // /redirect-code/<status>?to=<path>: that status with a Location and a short body.
      const redirect = /^\/redirect-code\/(\d{3})$/.exec(route);
      if (redirect) {
        const to = url.searchParams.get('to') ?? '/echo';
        const text = `Redirecting to ${req.method} ${to}`;
        const headers: http.OutgoingHttpHeaders = { location: to, 'content-type': 'text/plain' };
        const cookie = url.searchParams.get('cookie');
        if (cookie !== null) headers['set-cookie'] = `${cookie}; Path=/`;
        // A 304 has no body (RFC 9110 15.4.5).
        if (redirect[1] === '304') {
          res.writeHead(304, headers);
          res.end();
          return;
        }
        headers['content-length'] = Buffer.byteLength(text);
        res.writeHead(Number(redirect[1]), headers);
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      // /status/<code>: the status with a body anyway (HTTP forbids one for 204 and 304).
      const status = /^\/status\/(\d{3})$/.exec(route);
      if (status) {
        res.writeHead(Number(status[1]), { 'content-type': 'text/plain' });
        res.end();
        return;
      }
      if (route === '/gzip') {
        const text = Buffer.from('Hello World!');
        const coded = zlib.gzipSync(text);
        res.writeHead(200, {
          'content-encoding': 'gzip',
          'content-length': coded.length,
          'content-type': 'text/plain',
        });
        res.end(coded);
        return;
      }
      // /stall?after=<n>: the head and n body bytes of a longer body, then silence.
      // after=-1: not even the head.
      if (route === '/stall') {
        const after = number(url, 'after', 0);
        if (after < 0) return;
        res.writeHead(200, { 'content-length': after + 1_000_000, 'content-type': 'application/octet-stream' });
        if (after > 0) res.write(Buffer.alloc(after, 0x61));
        else res.flushHeaders();
        return;
      }
      // /trickle?every=<ms>&count=<n>: one byte every `every` ms, n bytes in all.
      if (route === '/trickle') {
        const every = number(url, 'every', 300);
        const count = number(url, 'count', 10);
        res.writeHead(200, { 'content-length': count, 'content-type': 'application/octet-stream' });
        res.flushHeaders();
        let left = count;
        const tick = (): void => {
          if (res.destroyed) return;
          res.write('x');
          if (--left === 0) res.end();
          else later(every, tick);
        };
        later(every, tick);
        return;
      }
      // /burst-stall?size=<n>&stall=<ms>&tail=<n>: n bytes at once, silence, then the tail.
      if (route === '/burst-stall') {
        const size = number(url, 'size', 2_000_000);
        const stall = number(url, 'stall', 3000);
        const tail = number(url, 'tail', 1000);
        burst.sent = 0;
        burst.resumed = false;
        res.writeHead(200, { 'content-length': size + tail, 'content-type': 'application/octet-stream' });
        res.write(Buffer.alloc(size, 0x62), () => {
          burst.sent = size;
          later(stall, () => {
            burst.resumed = true;
            res.end(Buffer.alloc(tail, 0x63));
          });
        });
        return;
      }
      // /auth/basic: a challenge, as a server asks for credentials the client does not have.
      if (route === '/auth/basic') {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="semantics"', 'content-type': 'text/plain' });
        res.end('unauthorized');
        return;
      }
      res.writeHead(404);
      res.end();
    });
  };

  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    burst,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A server that answers every connection with `response` as it is, then closes: heads Node's HTTP server would not send. */
export async function startRawServer(response: string): Promise<{ base: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', () => socket.end(response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
