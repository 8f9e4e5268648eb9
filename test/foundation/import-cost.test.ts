// What importing the library loads: not fetch()'s modules, nor the Node modules only they need
// (Node's Response/Headers, which load its bundled undici: +12 MiB; node:http; node:stream/web).
// They load at the first fetch(), which then works as before. A child process imports the built
// library (dist/, as npm test builds it first) and reports its module lists before and after.
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, listenLocal } from '../helpers/listen';

const DIST = path.join(__dirname, '..', '..', 'dist', 'index.js');

let server: http.Server;
let base = '';
beforeAll(async () => {
  server = http.createServer((_req, res) => res.end('fetched'));
  base = await listenLocal(server);
});
afterAll(() => closeServer(server));

// Runs in the child: what is loaded after the import, and after one fetch().
const CHILD = `
const loaded = () => ({
  undici: process.moduleLoadList.some((m) => m.includes('undici')),
  http: process.moduleLoadList.includes('NativeModule http'),
  webStreams: process.moduleLoadList.includes('NativeModule stream/web'),
  fetchModule: Object.keys(require.cache).some((f) => f.endsWith('fetch.js')),
});
const URLSession = require(process.argv[1]);
const afterImport = loaded();
URLSession.fetch(process.argv[2]).then(async (response) => {
  const text = await response.text();
  console.log(JSON.stringify({ afterImport, afterFetch: loaded(), text }));
});
`;

describe('importing urlsession', () => {
  it('loads neither fetch()’s modules nor Node’s undici, http or web streams; the first fetch() does', async () => {
    // Asynchronously: the server the child fetches from runs on this process's event loop.
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['-e', CHILD, DIST, `${base}/`],
        { encoding: 'utf8', timeout: 30_000 },
        (error, stdout) => (error === null ? resolve(stdout) : reject(error)),
      );
    });
    const report = JSON.parse(output.trim().split('\n').pop() as string) as Record<string, unknown>;
    expect(report.afterImport).toEqual({ undici: false, http: false, webStreams: false, fetchModule: false });
    expect(report.afterFetch).toMatchObject({ undici: true, fetchModule: true });
    expect(report.text).toBe('fetched');
  });
});
