// Speed limits: the rate a limited download achieves, against the limit, over 10 s. A local
// server sends as fast as the socket takes; for each limit one download runs with
// maximumBytesPerSecond set, and the bytes it received are counted from its progress events
// between 1 s and 11 s after its start (the first second holds the connection and the pacer's
// credit). The same for one upload to a server that reads as fast as it can, and for a session
// limit shared by two downloads. Prints one line per run: limit, achieved rate, deviation.
// Usage: node bench/speed-limit.js [seconds=10]   (after npm run build)
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const URLSession = require(path.join(__dirname, '..', 'dist', 'index.js'));
const { sendSized } = require('./sized-body');

const SECONDS = Number(process.argv[2] ?? 10);
const WARMUP_MS = 1000;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

function startServer() {
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') {
      let length = 0;
      req.on('data', (part) => (length += part.length));
      req.on('end', () => res.end(String(length)));
      return;
    }
    const size = Number(new URL(req.url, 'http://x').searchParams.get('size'));
    sendSized(res, size, CHUNK);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Bytes per second `task` moved in `direction` between WARMUP_MS and WARMUP_MS + SECONDS s. */
function measure(task, direction) {
  return new Promise((resolve) => {
    const started = performance.now();
    let from;
    task.on('progress', (p) => {
      if (p.direction !== direction) return;
      const at = performance.now() - started;
      if (from === undefined && at >= WARMUP_MS) from = { at, bytes: p.transferred };
      if (from !== undefined && at >= WARMUP_MS + SECONDS * 1000) {
        resolve(((p.transferred - from.bytes) * 1000) / (at - from.at));
        task.cancel();
      }
    });
    task.done.catch(() => undefined);
  });
}

function report(what, limit, rate) {
  const deviation = ((rate - limit) / limit) * 100;
  console.log(
    `${what.padEnd(28)} limit ${String(limit).padStart(9)} B/s  achieved ${Math.round(rate)
      .toString()
      .padStart(9)} B/s  ${deviation >= 0 ? '+' : ''}${deviation.toFixed(1)}%`,
  );
}

async function main() {
  const server = await startServer();
  const base = `http://127.0.0.1:${server.address().port}`;
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-bench-speed-'));
  try {
    const session = URLSession.createSession({
      configuration: URLSession.createSessionConfiguration({ downloadDirectory: folder }),
    });
    // Enough bytes that no run ends before its window does.
    const sizeFor = (limit) => Math.ceil(limit * (SECONDS + 3));
    for (const limit of [100_000, 1_000_000, 10_000_000]) {
      const task = session.download(`${base}/file?size=${sizeFor(limit)}`, { maximumBytesPerSecond: limit });
      report('download, task limit', limit, await measure(task, 'download'));
    }
    for (const limit of [100_000, 1_000_000]) {
      const body = Buffer.alloc(sizeFor(limit), 0x62);
      const task = session.upload(`${base}/upload`, body, { maximumBytesPerSecond: limit });
      report('upload, task limit', limit, await measure(task, 'upload'));
    }
    session.setSpeedLimit(2_000_000);
    const pair = [0, 1].map(() => session.download(`${base}/file?size=${sizeFor(2_000_000)}`));
    const rates = await Promise.all(pair.map((task) => measure(task, 'download')));
    report('download, session, task 1', 1_000_000, rates[0]);
    report('download, session, task 2', 1_000_000, rates[1]);
    report('download, session, both', 2_000_000, rates[0] + rates[1]);
    session.invalidateAndCancel();
    await new Promise((resolve) => session.once('invalidated', resolve));
  } finally {
    server.close();
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
