// This library through Titanium's API, for bench/latency.js: downloadTask into the session's
// downloadDirectory (the file named from the URL) and dataTask, each completion reported by
// events. Workloads (one JSON line out: bytes, elapsedMs, as bench/peers/harness.js prints):
//   one <url> <dir>                          one download
//   many <url> <count> <concurrency> <dir>   <count> downloads started at once, <concurrency> the per-host limit
//   small <url> <count>                      sequential data tasks, each started from the last one's sessioncompleted
//   segmented <url> <segments> <dir> [ca]    one download in <segments> Range requests (as many connections allowed);
//                                            `ca`: a PEM file of the CA to trust for https (bench/nginx.js tls)
'use strict';
const path = require('node:path');
const URLSession = require(path.join(__dirname, '..', 'dist', 'index.js'));

function session(limit, downloadDirectory, caFile) {
  return URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({
      HTTPMaximumConnectionsPerHost: limit,
      progressInterval: 250,
      downloadDirectory,
      ...(caFile === undefined ? {} : { tls: { ca: require('node:fs').readFileSync(caFile, 'utf8') } }),
    }),
  });
}

/** Starts `count` tasks with `start(i)`; resolves with the bytes once every one completed (rejects on a failure). */
function completions(s, count, start, bytesOf) {
  return new Promise((resolve, reject) => {
    let done = 0;
    let bytes = 0;
    s.on('sessioncompleted', (e) => {
      if (!e.success || e.statusCode !== 200)
        return reject(new Error(`task ${e.taskIdentifier}: ${e.errorCode} ${e.message} (HTTP ${e.statusCode})`));
      bytes += bytesOf(e);
      if (++done === count) resolve(bytes);
      else start(done);
    });
    start(0);
  });
}

async function main() {
  const [workload, url, ...args] = process.argv.slice(2);
  const started = process.hrtime.bigint();
  let bytes = 0;
  let s;
  if (workload === 'segmented') {
    const [segments, dir, caFile] = [Number(args[0]), args[1], args[2]];
    s = session(segments, dir, caFile);
    let size = 0;
    s.on('downloadcompleted', (e) => (size = require('node:fs').statSync(e.location).size));
    bytes = await completions(
      s,
      1,
      () => s.downloadTask({ url, segments }),
      () => size,
    );
  } else if (workload === 'one' || workload === 'many') {
    const [count, concurrency, dir] =
      workload === 'one' ? [1, 1, args[0]] : [Number(args[0]), Number(args[1]), args[2]];
    s = session(Math.max(concurrency, 1), dir);
    const sizes = new Map();
    s.on('downloadcompleted', (e) => sizes.set(e.taskIdentifier, require('node:fs').statSync(e.location).size));
    // All at once, as bench/peers/urlsession.js does: the per-host limit is the concurrency.
    const startAll = (done) => {
      if (done > 0) return;
      for (let i = 0; i < count; i++) s.downloadTask({ url: workload === 'one' ? url : `${url}?i=${i}` });
    };
    bytes = await completions(s, count, startAll, (e) => sizes.get(e.taskIdentifier) ?? 0);
  } else if (workload === 'small') {
    const count = Number(args[0]);
    s = session(1);
    bytes = await completions(
      s,
      count,
      () => s.dataTask({ url }),
      (e) => Buffer.byteLength(e.responseText ?? '', 'latin1'),
    );
  } else {
    throw new Error(`unknown workload ${workload}`);
  }
  const report = { bytes, elapsedMs: Number(process.hrtime.bigint() - started) / 1e6 };
  s.finishTasksAndInvalidate();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
