// The benchmarks' latency path (bench/latency-proxy.js) does what it claims: requests through it
// take at least the round trips it injects, a connection moves at most a window per round trip,
// connections share one link rate, and the bytes arrive intact both ways (also a body that ends
// with the server's FIN). It checks the proxy's function, not anyone's speed: only lower bounds.
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { startLatencyProxy } = createRequire(__filename)('../../bench/latency-proxy.js') as {
  startLatencyProxy(options: {
    upstream: { host: string; port: number };
    rttMs: number;
    windowBytes: number;
    rateMbps?: number;
  }): Promise<{
    base: string;
    stats: { connections: number; bytesUp: number; bytesDown: number };
    close(): Promise<void>;
  }>;
};

const KiB = 1024;
const MiB = 1024 * KiB;
const body = randomBytes(2 * MiB);
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

let upstream: http.Server;
let upstreamPort: number;

beforeAll(async () => {
  // GET /?n=<bytes>[&close]: the first n bytes of `body` (with close: no length, ended by the FIN).
  // POST /echo: the sha256 of what arrived.
  upstream = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/echo') {
      const hash = createHash('sha256');
      req.on('data', (part: Buffer) => hash.update(part));
      req.on('end', () => res.end(hash.digest('hex')));
      return;
    }
    const n = Number(url.searchParams.get('n') ?? body.length);
    if (url.searchParams.has('close')) res.writeHead(200, { connection: 'close' });
    else res.writeHead(200, { 'content-length': n });
    res.end(body.subarray(0, n));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
});
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

async function proxy(rttMs: number, windowBytes: number, rateMbps = 0) {
  return startLatencyProxy({ upstream: { host: '127.0.0.1', port: upstreamPort }, rttMs, windowBytes, rateMbps });
}

/** One exchange through `base`; resolves with the response body and how long it took. */
function exchange(
  base: string,
  path: string,
  agent: http.Agent | false,
  upload?: Buffer,
): Promise<{ data: Buffer; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(`${base}${path}`, { agent, method: upload ? 'POST' : 'GET' }, (response) => {
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('end', () => resolve({ data: Buffer.concat(parts), ms: performance.now() - started }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(upload);
  });
}

describe('latency proxy', () => {
  it('a new connection costs two round trips (handshake, request), a kept-alive one one; bytes intact both ways', async () => {
    const rtt = 60;
    const path = await proxy(rtt, 256 * KiB);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await exchange(path.base, '/?n=1000', agent);
      expect(first.data.equals(body.subarray(0, 1000))).toBe(true);
      expect(first.ms).toBeGreaterThanOrEqual(2 * rtt);
      const second = await exchange(path.base, '/?n=1000', agent);
      expect(second.ms).toBeGreaterThanOrEqual(rtt);
      const upload = randomBytes(300 * KiB);
      const echoed = await exchange(path.base, '/echo', agent, upload);
      expect(echoed.data.toString()).toBe(sha(upload));
      expect(path.stats.connections).toBe(1);
      // A body that only the server's FIN ends: the FIN travels behind the last byte.
      const closing = await exchange(path.base, '/?close', false);
      expect(sha(closing.data)).toBe(sha(body));
      expect(path.stats.connections).toBe(2);
    } finally {
      agent.destroy();
      await path.close();
    }
  });

  it('a connection moves at most one window per round trip', async () => {
    const rtt = 40;
    const window = 128 * KiB;
    const path = await proxy(rtt, window);
    try {
      const { data, ms } = await exchange(path.base, '/', false);
      expect(sha(data)).toBe(sha(body));
      // 2 MiB in 16 windows: at least 15 round trips after the first window left, plus the handshake.
      expect(ms).toBeGreaterThanOrEqual((body.length / window - 1) * rtt + rtt);
    } finally {
      await path.close();
    }
  });

  it('connections share one link rate', async () => {
    const rateMbps = 40; // 5 MB/s
    const path = await proxy(1, 64 * MiB, rateMbps);
    try {
      const results = await Promise.all([exchange(path.base, '/', false), exchange(path.base, '/', false)]);
      for (const { data } of results) expect(sha(data)).toBe(sha(body));
      const bytes = 2 * body.length;
      const slowest = Math.max(...results.map((r) => r.ms));
      expect(slowest).toBeGreaterThanOrEqual((bytes * 8) / (rateMbps * 1e3));
    } finally {
      await path.close();
    }
  });
});
