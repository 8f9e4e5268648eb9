// A server whose misbehaviour is scripted per request path, written on raw TCP sockets so
// that it can break HTTP in ways a real server library never would. 127.0.0.1 only.
import * as net from 'node:net';
import { gzipSync } from 'node:zlib';

export interface HostileServer {
  base: string;
  close(): Promise<void>;
}

type Script = (socket: net.Socket, path: string) => void;

const head = (lines: string[]): string => `${lines.join('\r\n')}\r\n\r\n`;

const SCRIPTS: Record<string, Script> = {
  '/reset-before-headers': (s) => s.resetAndDestroy(),
  '/reset-mid-headers': (s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Partial: ');
    setTimeout(() => s.resetAndDestroy(), 20);
  },
  '/reset-mid-body': (s) => {
    s.write(head(['HTTP/1.1 200 OK', 'Content-Length: 100000']));
    s.write(Buffer.alloc(50_000, 7));
    setTimeout(() => s.resetAndDestroy(), 20);
  },
  '/length-larger': (s) => {
    s.write(head(['HTTP/1.1 200 OK', 'Content-Length: 1000', 'Connection: close']));
    s.end(Buffer.alloc(500, 1));
  },
  '/length-smaller': (s) => {
    s.write(head(['HTTP/1.1 200 OK', 'Content-Length: 10', 'Connection: close']));
    s.end(Buffer.alloc(500, 2));
  },
  '/bad-chunked': (s) => {
    s.write(head(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']));
    s.end('5\r\nhello\r\nzz\r\nnot hex\r\n0\r\n\r\n');
  },
  '/slow-loris': (s) => {
    s.write(head(['HTTP/1.1 200 OK', 'Content-Length: 100000']));
    const timer = setInterval(() => (s.destroyed ? clearInterval(timer) : s.write('x')), 300);
    s.on('close', () => clearInterval(timer));
  },
  '/endless-headers': (s) => {
    s.write('HTTP/1.1 200 OK\r\n');
    const line = `X-Filler: ${'y'.repeat(1000)}\r\n`;
    let sent = 0;
    const pump = (): void => {
      while (!s.destroyed && sent < 8 * 1024 * 1024) {
        sent += line.length;
        if (!s.write(line)) return void s.once('drain', pump);
      }
      if (!s.destroyed) s.end();
    };
    s.on('error', () => undefined);
    pump();
  },
  '/gzip-unasked': (s) => {
    const body = gzipSync(Buffer.from('the quick brown fox '.repeat(5000)));
    s.write(head(['HTTP/1.1 200 OK', 'Content-Encoding: gzip', `Content-Length: ${body.length}`, 'Connection: close']));
    s.end(body);
  },
  '/gzip-broken': (s) => {
    const body = Buffer.from('this is not gzip data at all, not even close');
    s.write(head(['HTTP/1.1 200 OK', 'Content-Encoding: gzip', `Content-Length: ${body.length}`, 'Connection: close']));
    s.end(body);
  },
  '/loop': (s) => {
    s.write(head(['HTTP/1.1 302 Found', 'Location: /loop', 'Content-Length: 0']));
  },
  // libcurl refuses a NUL byte in a header (HTTP forbids it).
  '/nul-in-header': (s) => {
    s.end('HTTP/1.1 200 OK\r\nX-Nul: a\0b\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
  },
  // Header bytes as servers really send them: UTF-8, and Latin-1 that is not valid UTF-8 (each
  // text field crosses the bridge ended by U+0000, so a broken sequence must not shift the rest).
  '/odd-header-bytes': (s) => {
    s.end(
      Buffer.concat([
        Buffer.from('HTTP/1.1 200 OK\r\nX-Utf8: caf\u00e9 \u2713\r\nX-Latin1: caf', 'utf8'),
        Buffer.from([0xe9]),
        Buffer.from('\r\nX-Truncated: ab', 'utf8'),
        Buffer.from([0xe2, 0x9c]),
        Buffer.from('\r\nX-After: ok\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok', 'utf8'),
      ]),
    );
  },
  // Header names that are also Object.prototype's: they must arrive as plain headers.
  '/prototype-headers': (s) => {
    s.end(
      head([
        'HTTP/1.1 200 OK',
        'Constructor: a',
        '__proto__: b',
        'toString: c',
        'Set-Cookie: x=1',
        'set-cookie: y=2',
        'Content-Length: 2',
        'Connection: close',
      ]) + 'ok',
    );
  },
  // A status line of 1 MiB: libcurl gives up on any header line over 100 KiB.
  '/huge-status-line': (s) => {
    s.end(`HTTP/1.1 200 ${'x'.repeat(1024 * 1024)}\r\nContent-Length: 2\r\n\r\nok`);
  },
  '/not-http': (s) => {
    s.end('SSH-2.0-OpenSSH_9.0\r\n');
  },
};

export async function startHostileServer(): Promise<HostileServer> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    let buffered = '';
    socket.on('data', (data) => {
      // A TLS ClientHello (record type 0x16) gets plain text back: the handshake must fail.
      if (buffered === '' && data[0] === 0x16) return void socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      buffered += data.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const path = buffered.split(' ')[1] ?? '/';
      buffered = '';
      const hops = /^\/hops\/(\d+)$/.exec(path);
      if (hops) {
        const left = Number(hops[1]);
        const location = left > 0 ? `/hops/${left - 1}` : '/done';
        return void socket.write(head(['HTTP/1.1 302 Found', `Location: ${location}`, 'Content-Length: 0']));
      }
      if (path === '/done') return void socket.write(head(['HTTP/1.1 200 OK', 'Content-Length: 4']) + 'done');
      (SCRIPTS[path] ?? ((s: net.Socket) => s.end(head(['HTTP/1.1 404 Not Found', 'Content-Length: 0']))))(
        socket,
        path,
      );
    });
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
