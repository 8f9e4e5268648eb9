// Hostile or unusual state folders: files planted where the journal, its temp file, the lock or
// a partial download go, and folders of another user or with a wider mode. Anything that could
// make the JS thread wait (a FIFO) runs in a child process under a deadline, so that a hang
// fails the test instead of freezing the runner.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { makeBytes } from '../helpers/task-server';
import { runChild } from '../helpers/child';
import { waitFor } from '../helpers/wait-for';
import { listenLocal, closeServer } from '../helpers/listen';

const DEADLINE_MS = 15_000;

let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? 1000);
    res.writeHead(200, { 'content-length': size }).end(makeBytes(size, 3));
  });
  base = await listenLocal(server);
});
afterAll(() => closeServer(server));

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

function codeOf(call: () => unknown): string | undefined {
  try {
    const session = call();
    if (session instanceof URLSession.Session) session.invalidateAndCancel();
    return undefined;
  } catch (error) {
    return (error as { code: string }).code;
  }
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
  it("a symlink at the journal temp file's old fixed name is never followed: the file it points to stays as it was", async () => {
    const { root, ...d } = folders();
    const victim = path.join(root, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(d.stateDirectory, 'journal.json.tmp'));
    const session = createSession({ identifier: 'sd.tmp-symlink', ...d });
    try {
      expect(await downloadOnce(session, 5000)).toMatchObject({ success: true });
      // The journal was written (the task and its completion) and is a file of its own.
      await waitFor('the journal on disk', () => fs.existsSync(path.join(d.stateDirectory, 'journal.log')));
      expect(fs.lstatSync(path.join(d.stateDirectory, 'journal.log')).isFile()).toBe(true);
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
      expect(fs.readdirSync(d.stateDirectory).filter((f) => /^journal\.json\.[0-9a-f]{16}\.tmp$/.test(f))).toEqual([]);
    } finally {
      await invalidate(session);
    }
  });

  it('a FIFO at journal.log: the session opens at once, sets it aside unread with a warning, and works', async () => {
    const { root: _root, ...d } = folders();
    const journal = path.join(d.stateDirectory, 'journal.log');
    execFileSync('mkfifo', ['-m', '600', journal]);
    const run = await runChild({ identifier: 'sd.fifo-journal', ...d, urls: [`${base}/file?size=2000`] }, undefined, {
      deadlineMs: DEADLINE_MS,
    });
    expect(run.timedOut, JSON.stringify(run.lines)).toBe(false);
    expect(run.code, JSON.stringify(run.lines)).toBe(0);
    const warning = run.lines.find((l) => l.type === 'warning');
    expect(warning?.path).toMatch(/journal\.log\.corrupt-\d+$/);
    expect(warning?.message).toContain('FIFO');
    expect(fs.lstatSync(warning?.path).isFIFO()).toBe(true);
    expect(run.lines.find((l) => l.type === 'sessioncompleted')).toMatchObject({ id: 1, success: true });
  });

  it('a FIFO or a symlink at the lock file: ERR_URLSESSION_STATE_DIRECTORY at once', async () => {
    const { root, ...d } = folders();
    const lock = path.join(d.stateDirectory, 'lock');
    execFileSync('mkfifo', ['-m', '600', lock]);
    const fifo = await runChild({ identifier: 'sd.fifo-lock', ...d }, undefined, { deadlineMs: DEADLINE_MS });
    expect(fifo.timedOut).toBe(false);
    expect(fifo.lines[0]).toMatchObject({
      type: 'error',
      code: 'ERR_URLSESSION_STATE_DIRECTORY',
      message: expect.stringContaining('not a regular file'),
    });
    fs.rmSync(lock);
    fs.symlinkSync(path.join(root, 'elsewhere'), lock);
    expect(codeOf(() => createSession({ identifier: 'sd.symlink-lock', ...d }))).toBe('ERR_URLSESSION_STATE_DIRECTORY');
    expect(fs.existsSync(path.join(root, 'elsewhere'))).toBe(false);
  });
});

describe('the state folder itself', () => {
  it('a state folder that belongs to another user is refused with ERR_URLSESSION_STATE_DIRECTORY', () => {
    const { root: _root, ...d } = folders();
    fs.chownSync(d.stateDirectory, 54321, 54321);
    expect(codeOf(() => createSession({ identifier: 'sd.foreign', ...d }))).toBe('ERR_URLSESSION_STATE_DIRECTORY');
    expect(fs.readdirSync(d.stateDirectory)).toEqual([]);
  });

  it('a state folder of ours with a wider mode is narrowed to 0700; a new one is created 0700, its lock and journal 0600', async () => {
    const { root, ...d } = folders();
    fs.chmodSync(d.stateDirectory, 0o777);
    const wide = createSession({ identifier: 'sd.wide', ...d });
    expect(fs.statSync(d.stateDirectory).mode & 0o777).toBe(0o700);
    await invalidate(wide);
    const fresh = path.join(root, 'fresh', 'state');
    const session = createSession({
      identifier: 'sd.fresh',
      stateDirectory: fresh,
      downloadDirectory: d.downloadDirectory,
    });
    try {
      expect(fs.statSync(fresh).mode & 0o777).toBe(0o700);
      expect(fs.statSync(path.join(fresh, 'lock')).mode & 0o777).toBe(0o600);
      const done = new Promise((resolve) => session.once('sessioncompleted', resolve));
      session.downloadTask({ url: `${base}/file?size=100` });
      await waitFor('the journal on disk', () => fs.existsSync(path.join(fresh, 'journal.log')));
      expect(fs.statSync(path.join(fresh, 'journal.log')).mode & 0o777).toBe(0o600);
      await done;
    } finally {
      await invalidate(session);
    }
  });
});
