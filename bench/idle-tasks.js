// Memory per idle task: downloads that trickle one byte per second, all running at once. The
// marginal cost is measured: N tasks first (they also pay the one-time costs: code pages, allocator
// arenas, tables that grow in steps), then N more, and (RSS after - RSS between) / N. A plain
// (after - before) / N charged ~4 MiB of one-time costs to 100 tasks as 40 KiB each. N is the
// level asked for, halved above 500 (a session allows at most 1,000 connections per host).
// V8's young generation grows in steps of megabytes, which 50 tasks would be charged for: run with
// --expose-gc --max-semi-space-size=1 (as bench/run.js does), and a full GC before each reading.
'use strict';
const path = require('node:path');
const URLSession = require(path.join(__dirname, '..', 'dist', 'index.js'));

const [url, total] = [process.argv[2], Number(process.argv[3])];
const count = total > 500 ? Math.floor(total / 2) : total;
const session = URLSession.createSession({
  configuration: URLSession.createSessionConfiguration({
    HTTPMaximumConnectionsPerHost: 2 * count,
    downloadDirectory: process.argv[4],
  }),
});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const start = (offset) => {
  for (let i = 0; i < count; i++) session.downloadTask({ url: `${url}?i=${offset + i}` });
};

function measure() {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc --max-semi-space-size=1');
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
  process.stdout.write(
    `${JSON.stringify({ perTaskKiB: (second.rss - first.rss) / 1024 / count, jsKiB: (second.heapUsed - first.heapUsed) / 1024 / count })}\n`,
  );
  session.invalidateAndCancel();
})();
