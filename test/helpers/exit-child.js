// Child process for test/security/partial-cleanup.test.ts: leaves every kind of partial file a
// process can hold, then calls process.exit(). Prints one JSON line per step.
// argv: <json options> ; options: { base, plainDirectory, persistentDirectory, stateDirectory, n }
//  - resume data: a download cancelled by producing resume data, the blob kept (printed);
//  - n downloads still running in a plain session;
//  - one plain download waiting to retry after its connection was cut (its partial kept for it);
//  - one download still running in a persistent session.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const URLSession = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

const options = JSON.parse(process.argv[2]);
const print = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const slow = (seed, size = 50_000_000) =>
  `${options.base}/file?size=${size}&seed=${seed}&etag=v${seed}&delay=10&chunk=16384`;
const partials = (dir) => fs.readdirSync(dir).filter((name) => name.endsWith('.partial'));
const progressed = (task, bytes) =>
  new Promise((resolve) => task.on('progress', (p) => p.transferred > bytes && resolve()));

async function main() {
  const plain = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({
      downloadDirectory: options.plainDirectory,
      HTTPMaximumConnectionsPerHost: options.n + 2,
    }),
  });
  const persistent = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({
      identifier: 'exit-cleanup',
      stateDirectory: options.stateDirectory,
      downloadDirectory: options.persistentDirectory,
    }),
  });

  const cancelled = plain.download(slow(1, 2_000_000));
  await progressed(cancelled, 50_000);
  const resumeData = await cancelled.cancelByProducingResumeData();
  await cancelled.done.catch(() => undefined);
  print({
    type: 'resume-data',
    partials: partials(options.plainDirectory),
    resumeData: resumeData && resumeData.toString('base64'),
  });

  const retrying = plain.download(`${options.base}/flaky-file?size=400000&drop=100000&etag=r&key=exit-${process.pid}`, {
    retry: { limit: 1, backoff: { initial: 600_000, jitter: false } },
  });
  retrying.done.catch(() => undefined);
  const running = [];
  for (let i = 0; i < options.n; i++) running.push(plain.download(`${slow(10)}&key=run-${i}`));
  for (const task of running) task.done.catch(() => undefined);
  const journaled = persistent.download(slow(10));
  journaled.done.catch(() => undefined);
  await Promise.all([...running, journaled].map((task) => progressed(task, 0)));
  for (;;) {
    const tasks = await plain.getAllTasks();
    if (tasks.some((t) => t.taskIdentifier === retrying.taskIdentifier && t.state === 'waitingToRetry')) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  print({
    type: 'exiting',
    plain: partials(options.plainDirectory),
    persistent: partials(options.persistentDirectory),
  });
  process.exit(0);
}

main().catch((error) => {
  print({ type: 'error', message: String(error && error.stack) });
  process.exit(3);
});
