// This library: the engine writes to disk on its own thread; JS sees coalesced events only.
'use strict';
const path = require('node:path');
const URLSession = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));
const { run } = require('./harness');

// `many` runs all its tasks at once with the given concurrency as the per-host limit.
const [workload, , , concurrency] = process.argv.slice(2);
const session = URLSession.createSession({
  configuration: URLSession.createSessionConfiguration({
    HTTPMaximumConnectionsPerHost: workload === 'many' ? Number(concurrency) : 100,
    progressInterval: 250,
  }),
});

run({
  download: (url, file) =>
    session
      .download(url, { destination: file, overwrite: true, retry: 0 })
      .done.then(() => require('node:fs').statSync(file).size),
  // All tasks at once: the engine's per-host limit is the concurrency.
  downloadMany: async (base, count, _concurrency, dir) => {
    const tasks = Array.from(
      { length: count },
      (_, i) =>
        session.download(`${base}?i=${i}`, { destination: path.join(dir, `f${i}`), overwrite: true, retry: 0 }).done,
    );
    await Promise.all(tasks);
    return count * require('node:fs').statSync(path.join(dir, 'f0')).size;
  },
  request: (url) => session.request(url, { retry: 0 }).done.then((r) => r.body),
  upload: (url, file) => session.upload(url, file, { method: 'PUT', retry: 0 }).done.then((r) => r.statusCode),
  close: () => session.finishTasksAndInvalidate(),
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
