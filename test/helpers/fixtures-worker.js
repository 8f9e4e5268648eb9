// 50 worker_threads, one after the other: each loads the addon, makes a request, and is
// terminated. Prints how many saw HTTP 200. argv: <url>
'use strict';
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

if (isMainThread) {
  (async () => {
    let ok = 0;
    for (let i = 0; i < 50; i++) {
      const worker = new Worker(__filename, { workerData: process.argv[2] });
      const status = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      if (status === 200) ok++;
      await worker.terminate();
    }
    process.stdout.write(`${ok}\n`);
  })();
} else {
  const URLSession = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));
  const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
  session.request(workerData).done.then((r) => parentPort.postMessage(r.statusCode));
}
