// The workloads, written once over three primitives each peer provides:
//   download(url, file) -> Promise<bytes>, request(url) -> Promise<Buffer>, upload(url, file) -> Promise<status>
// Prints one JSON line: bytes moved and, for `one`, the event-loop delay while it ran.
'use strict';
const { monitorEventLoopDelay } = require('node:perf_hooks');
const fs = require('node:fs');
const path = require('node:path');

async function pool(count, concurrency, work) {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await work(next++);
  });
  await Promise.all(runners);
}

async function run(peer, argv = process.argv.slice(2)) {
  const [workload, ...args] = argv;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const started = process.hrtime.bigint();
  let bytes = 0;
  if (workload === 'one') {
    delay.enable();
    bytes = await peer.download(args[0], args[1]);
    delay.disable();
  } else if (workload === 'many') {
    const [base, count, concurrency, dir] = args;
    if (peer.downloadMany) bytes = await peer.downloadMany(base, Number(count), Number(concurrency), dir);
    else
      await pool(
        Number(count),
        Number(concurrency),
        async (i) => (bytes += await peer.download(`${base}?i=${i}`, path.join(dir, `f${i}`))),
      );
  } else if (workload === 'series') {
    // One at a time: each download starts when the last one finished (a promise chain).
    const [base, count, dir] = args;
    for (let i = 0; i < Number(count); i++) bytes += await peer.download(`${base}?i=${i}`, path.join(dir, `f${i}`));
  } else if (workload === 'small') {
    for (let i = 0; i < Number(args[1]); i++) bytes += (await peer.request(args[0])).length;
  } else if (workload === 'upload') {
    const status = await peer.upload(args[0], args[1]);
    if (status >= 300) throw new Error(`upload answered ${status}`);
    bytes = fs.statSync(args[1]).size;
  } else {
    throw new Error(`unknown workload ${workload}`);
  }
  // In-process time: the workload alone, without Node's start-up or the addon's load.
  const report = { bytes, elapsedMs: Number(process.hrtime.bigint() - started) / 1e6 };
  if (workload === 'one') {
    report.loopDelayP50Ms = delay.percentile(50) / 1e6;
    report.loopDelayP99Ms = delay.percentile(99) / 1e6;
  }
  if (peer.close) await peer.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

module.exports = { run, pool };
