// Hostile or unusual state folders: files planted where the journal, its temp file, the lock or
// a partial download go, and folders of another user or with a wider mode. Anything that could
// make the JS thread wait (a FIFO) runs in a child process under a deadline, so that a hang
// fails the test instead of freezing the runner.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { makeBytes } from '../task/task-server';
import { waitFor } from '../helpers/state-folder';


let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? 1000);
    res.writeHead(200, { 'content-length': size }).end(makeBytes(size, 3));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

function folders(): { root: string; stateDirectory: string; downloadDirectory: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-statedir-'));
  roots.push(root);
  const d = { root, stateDirectory: path.join(root, 'state'), downloadDirectory: path.join(root, 'downloads') };
  fs.mkdirSync(d.stateDirectory, { mode: 0o700 });
  fs.mkdirSync(d.downloadDirectory);
  return d;
}

function createSession(options: object): URLSession.Session {
  return URLSession.createSession({ configuration: URLSession.createSessionConfiguration(options) });
}

async function downloadOnce(session: URLSession.Session, size: number): Promise<URLSession.SessionCompletedEvent> {
  const done = new Promise<URLSession.SessionCompletedEvent>((resolve) => session.once('sessioncompleted', resolve));
  session.downloadTask({ url: `${base}/file?size=${size}` });
  return done;
}

async function invalidate(session: URLSession.Session): Promise<void> {
  const invalidated = new Promise((resolve) => session.once('invalidated', resolve));
  session.invalidateAndCancel();
  await invalidated;
}

describe('files planted in the state folder', () => {
  it('a symlink at the journal temp file\'s old fixed name is never followed: the file it points to stays as it was', async () => {
    const { root, ...d } = folders();
    const victim = path.join(root, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(d.stateDirectory, 'journal.json.tmp'));
    const session = createSession({ identifier: 'sd.tmp-symlink', ...d });
    try {
      expect(await downloadOnce(session, 5000)).toMatchObject({ success: true });
      // The journal was written (the task and its completion) and is a file of its own.
      await waitFor('the journal on disk', () => fs.existsSync(path.join(d.stateDirectory, 'journal.json')));
      expect(fs.lstatSync(path.join(d.stateDirectory, 'journal.json')).isFile()).toBe(true);
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
      expect(fs.readdirSync(d.stateDirectory).filter((f) => /^journal\.json\.[0-9a-f]{16}\.tmp$/.test(f))).toEqual([]);
    } finally {
      await invalidate(session);
    }
  });
});
