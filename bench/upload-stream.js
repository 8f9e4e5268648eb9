// A ReadableStream uploaded with fetch(…, { body, duplex: 'half' }): urlsession's fetch (streamed
// through the engine, lib/request-body-stream.ts) against Node's fetch, to one local server that
// reads and discards the body. The stream is generated as it is pulled (one 256 KiB chunk reused),
// so the process's peak RSS over its RSS before the upload is what the client holds.
// Each client runs in a child process of its own, so one's peak cannot hide the other's.
// Usage: node bench/upload-stream.js [MiB=1024] [rounds=3]   (after npm run build)
'use strict';
const { execFile } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');

const MIB = Number(process.argv[2] ?? 1024);
const ROUNDS = Number(process.argv[3] ?? 3);
const CLIENTS = ['urlsession fetch', 'Node fetch'];

// The child: one upload of `size` bytes by `client` to `url`; prints { ms, peakGrowthMiB }.
async function child(client, url, size) {
  const URLSession = require(path.join(__dirname, '..', 'dist', 'index.js'));
  const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration({}) });
  const chunk = new Uint8Array(256 * 1024).fill(0x61);
  let sent = 0;
  const body = new ReadableStream(
    {
      pull(controller) {
        if (sent >= size) return controller.close();
        const piece = Math.min(chunk.length, size - sent);
        controller.enqueue(piece === chunk.length ? chunk : chunk.subarray(0, piece));
        sent += piece;
      },
    },
    { highWaterMark: 0 },
  );
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const start = process.hrtime.bigint();
  const send = client === 'Node fetch' ? fetch : (u, init) => session.fetch(u, init);
  const response = await send(url, { method: 'POST', body, duplex: 'half' });
  const received = Number(await response.text());
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  session.invalidateAndCancel();
  if (received !== size) throw new Error(`${client}: the server received ${received} of ${size} bytes`);
  console.log(JSON.stringify({ ms, peakGrowthMiB: (peak - before) / 1048576 }));
}

async function main() {
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c) => (bytes += c.length));
    req.on('end', () => res.end(String(bytes)));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const size = MIB * 1048576;
  const runs = Object.fromEntries(CLIENTS.map((c) => [c, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const client of CLIENTS) {
      // The server lives in this process: the child runs while this one keeps serving.
      const out = await new Promise((resolve, reject) => {
        execFile(process.execPath, [__filename, '--child', client, url, String(size)], (error, stdout) =>
          error ? reject(error) : resolve(stdout),
        );
      });
      runs[client].push(JSON.parse(out));
    }
  }
  server.close();
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(`${MIB} MiB ReadableStream upload (median of ${ROUNDS}): MiB/s, peak RSS growth MiB`);
  for (const client of CLIENTS) {
    const rate = MIB / (median(runs[client].map((r) => r.ms)) / 1000);
    const peak = median(runs[client].map((r) => r.peakGrowthMiB));
    const worst = Math.max(...runs[client].map((r) => r.peakGrowthMiB));
    console.log(
      `  ${client.padEnd(18)} ${rate.toFixed(0).padStart(6)} MiB/s  peak +${peak.toFixed(0)} MiB (worst +${worst.toFixed(0)})`,
    );
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], Number(process.argv[5])).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
