// Memory per idle task: N downloads that trickle one byte per second, all running at once. The
// marginal cost is measured: N/2 tasks first (which also pay the one-time costs: code pages,
// allocator arenas, connection setup paths), then N/2 more, and (RSS after - RSS between) / (N/2).
// A plain (after - before) / N charged ~4 MiB of one-time faults to 100 tasks as 40 KiB each.
// V8's heap grows in steps (its young generation doubles), so the JS side counts the live objects
// after a full GC (heapUsed), not the heap's reserved pages: per task = native (RSS minus the V8
// heap) + live JS objects. Run with --expose-gc.
'use strict';
const path = require('node:path');
const URLSession = require(path.join(__dirname, '..', 'dist', 'index.js'));

const [url, total] = [process.argv[2], Number(process.argv[3])];
const count = Math.max(1, Math.floor(total / 2));
const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration({ HTTPMaximumConnectionsPerHost: total, downloadDirectory: process.argv[4] }) });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const start = (offset) => {
  for (let i = 0; i < count; i++) session.downloadTask({ url: `${url}?i=${offset + i}` });
};

function measure() {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
  global.gc();
  return process.memoryUsage();
}

(async () => {
  start(0);
  await sleep(1500);
  const first = measure();
  start(count);
  await sleep(1500);
  const second = measure();
  const nativeKiB = (second.rss - second.heapTotal - (first.rss - first.heapTotal)) / 1024 / count;
  const jsKiB = (second.heapUsed - first.heapUsed) / 1024 / count;
  process.stdout.write(`${JSON.stringify({ perTaskKiB: nativeKiB + jsKiB, nativeKiB, jsKiB })}\n`);
  session.invalidateAndCancel();
})();
