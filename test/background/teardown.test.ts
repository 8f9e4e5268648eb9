// An environment torn down with downloads running (a worker thread ended, an Electron window
// reloaded): the addon's cleanup stops the engine. A plain session's partial files go; a
// persistent session keeps the one its journal names, and the next session with that
// identifier resumes it with Range instead of downloading everything again.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import * as URLSession from '../../lib/index';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';

const server = useTaskServer();

const INDEX = path.join(__dirname, '..', '..', 'dist', 'index.js');
const SIZE = 3_000_000;
const partials = (dir: string): string[] => fs.readdirSync(dir).filter((name) => name.endsWith('.partial'));

/** Starts a download in a worker, waits for its first bytes on disk, then terminates the worker. */
async function downloadInWorkerThenTerminate(configuration: object, url: string): Promise<void> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const URLSession = require(workerData.index);
     const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration(workerData.configuration) });
     const task = session.download(workerData.url);
     task.done.catch(() => undefined);
     task.on('progress', (p) => { if (p.transferred > 200000) parentPort.postMessage('bytes'); });`,
    { eval: true, workerData: { index: INDEX, configuration, url } },
  );
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  await worker.terminate();
}

describe('environment teardown with a download running', () => {
  it("a persistent session keeps its journaled partial file, which the next session resumes with Range; a plain session's goes", async () => {
    const plain = tempDir('urlsession-teardown-plain-');
    await downloadInWorkerThenTerminate(
      { downloadDirectory: plain },
      `${server.base}/file?size=${SIZE}&seed=42&delay=5&chunk=16384`,
    );
    expect(fs.readdirSync(plain)).toEqual([]);

    const root = tempDir('urlsession-teardown-');
    const configuration = {
      identifier: 'teardown.persistent',
      stateDirectory: path.join(root, 'state'),
      downloadDirectory: path.join(root, 'downloads'),
    };
    const url = `${server.base}/file?size=${SIZE}&seed=41&etag=t41&delay=5&chunk=16384`;
    await downloadInWorkerThenTerminate(configuration, url);
    const kept = partials(configuration.downloadDirectory);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatch(/^\.urlsession\.[0-9a-f]{16}\.partial$/);
    const onDisk = fs.statSync(path.join(configuration.downloadDirectory, kept[0])).size;
    expect(onDisk).toBeGreaterThan(200_000);

    const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration(configuration) });
    try {
      const location = await new Promise<string>((resolve, reject) => {
        session.on('downloadcompleted', (e) => resolve(e.location));
        session.on('sessioncompleted', (e) => e.success || reject(new Error(`${e.errorCode} ${e.message}`)));
      });
      expect(sha256(fs.readFileSync(location))).toBe(sha256(makeBytes(SIZE, 41)));
      const resumed = server.seen.filter((r) => r.url.includes('seed=41&') && r.headers.range !== undefined);
      expect(resumed.map((r) => r.headers.range)).toEqual([`bytes=${onDisk}-`]);
    } finally {
      session.invalidateAndCancel();
    }
  });
});
