// The state folder's disk fills up while a persistent session works: a real tmpfs as the
// stateDirectory, filled by a filler file; the downloads themselves land on the normal disk.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { makeBytes, sha256 } from '../helpers/task-server';
import { runChild } from '../helpers/child';
import { peekJournal } from '../../lib/journal';
import { fill, mountTmpfs, type Tmpfs } from '../helpers/state-folder';
import { waitFor } from '../helpers/wait-for';
import { listenLocal, closeServer } from '../helpers/listen';

const SIZE = 1024 * 1024;

let server: http.Server;
let base: string;
// /hold/<group>/<seed>: the first 64 KiB at once, the rest when the test releases the group.
const held = new Map<string, { promise: Promise<void>; release: () => void }>();
function group(name: string): { promise: Promise<void>; release: () => void } {
  let entry = held.get(name);
  if (entry === undefined) {
    let release = (): void => undefined;
    const promise = new Promise<void>((resolve) => (release = resolve));
    entry = { promise, release };
    held.set(name, entry);
  }
  return entry;
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const parts = new URL(req.url ?? '/', 'http://x').pathname.split('/');
    if (parts[1] === 'upload') {
      // Answers with what arrived; /upload/slow reads 16 KiB every 10 ms (a client can be killed mid-upload).
      const hash = createHash('sha256');
      let length = 0;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
        if (parts[2] === 'slow') {
          req.pause();
          setTimeout(() => req.resume(), 10);
        }
      });
      req.on('end', () => res.end(JSON.stringify({ length, sha256: hash.digest('hex') })));
      return;
    }
    const body = makeBytes(SIZE, Number(parts[3]));
    res.writeHead(200, { 'content-length': SIZE, etag: `"${parts[2]}-${parts[3]}"` });
    res.write(body.subarray(0, 65536));
    void group(parts[2]).promise.then(() => res.end(body.subarray(65536)));
  });
  base = await listenLocal(server);
});
afterAll(() => closeServer(server));

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function stateTmpfs(context: { skip: () => void }): Tmpfs {
  const tmpfs = mountTmpfs('256k');
  if (tmpfs === undefined) {
    context.skip(); // mounting needs root (CAP_SYS_ADMIN); CI runs as root
    throw new Error('unreachable');
  }
  cleanups.push(() => tmpfs.remove());
  return tmpfs;
}

function downloadFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-diskfull-dl-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function onDisk(stateDirectory: string): ReturnType<typeof peekJournal> {
  try {
    return peekJournal(stateDirectory);
  } catch {
    return undefined;
  }
}

describe('a full state folder', () => {
  it('5 downloads while the state folder fills: every completion arrives with the right bytes, one ENOSPC warning, nothing thrown; the journal is written again once there is room', async (context) => {
    const state = stateTmpfs(context);
    const downloadDirectory = downloadFolder();
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    cleanups.push(() => process.off('uncaughtException', onUncaught));
    const session = URLSession.createSession({
      configuration: URLSession.createSessionConfiguration({
        identifier: 'disk.full',
        stateDirectory: state.dir,
        downloadDirectory,
      }),
    });
    const sessionWarnings: URLSession.SessionWarningEvent[] = [];
    const moduleWarnings: URLSession.SessionWarningEvent[] = [];
    const onModuleWarning = (w: URLSession.SessionWarningEvent): void => void moduleWarnings.push(w);
    session.on('warning', (w) => sessionWarnings.push(w));
    URLSession.on('warning', onModuleWarning);
    cleanups.push(() => URLSession.off('warning', onModuleWarning));
    const completed = new Map<number, URLSession.SessionCompletedEvent>();
    const locations = new Map<number, string>();
    session.on('sessioncompleted', (e) => completed.set(e.taskIdentifier, e));
    session.on('downloadcompleted', (e) => locations.set(e.taskIdentifier, e.location));
    try {
      const ids = [1, 2, 3, 4, 5].map((seed) => session.downloadTask({ url: `${base}/hold/a/${seed}` }));
      expect(ids).toEqual([1, 2, 3, 4, 5]);
      // A data task's completion carries its 1 MiB body into the journal: it cannot fit the full folder.
      const data = session.dataTask({ url: `${base}/hold/a/6` });
      // Every response is journaled (its validator on disk) before the folder fills.
      await waitFor('the 5 responses in the journal on disk', () => {
        const tasks = onDisk(state.dir)?.tasks ?? [];
        return tasks.length === 6 && tasks.filter((t) => t.kind === 'download').every((t) => t.expectedBytes === SIZE);
      });
      const filler = fill(state.dir);
      expect(fs.statfsSync(state.dir).bavail).toBe(0);
      expect((await session.getAllTasks()).map((t) => t.taskIdentifier)).toEqual([...ids, data]);

      group('a').release();
      await waitFor('6 completions', () => completed.size === 6, 20_000);
      expect(completed.get(data)).toMatchObject({ success: true, statusCode: 200 });
      for (const id of ids) {
        expect(completed.get(id)).toMatchObject({ success: true, errorCode: 0 });
        expect(sha256(fs.readFileSync(locations.get(id) as string))).toBe(sha256(makeBytes(SIZE, id)));
      }
      expect(await session.getAllTasks()).toEqual([]);
      // The journal could not follow: the data task's completion is not on disk (the log is cut
      // back to its last whole record, and still reads).
      expect(onDisk(state.dir)?.tasks.map((t) => t.taskIdentifier)).toContain(data);

      // An in-memory upload body cannot go to the full folder: it runs from memory and completes.
      const body = makeBytes(300_000, 77);
      const upload = session.uploadTask({ url: `${base}/upload/fast`, data: body });
      await waitFor('the upload', () => completed.has(upload), 20_000);
      expect(completed.get(upload)).toMatchObject({ success: true, statusCode: 200 });
      expect(JSON.parse(completed.get(upload)?.responseText ?? '')).toEqual({
        length: body.length,
        sha256: sha256(body),
      });
      expect(fs.readdirSync(state.dir).filter((f) => f.startsWith('body-') || f.endsWith('.tmp'))).toEqual([]);

      // One warning for the whole episode, on the session and on the module.
      expect(sessionWarnings).toEqual([
        {
          sessionIdentifier: 'disk.full',
          code: 'ENOSPC',
          path: path.join(state.dir, 'journal.log'),
          message: expect.stringContaining('ENOSPC'),
        },
      ]);
      expect(moduleWarnings).toEqual(sessionWarnings);

      // Room again: the retry timer writes the journal without any further change...
      fs.rmSync(filler);
      await waitFor('the journal rewritten by the retry timer', () => onDisk(state.dir)?.tasks.length === 0);
      expect(onDisk(state.dir)).toMatchObject({ nextTaskIdentifier: upload + 1, tasks: [], undelivered: [] });
      // ...and a later change is on disk as before.
      const later = session.downloadTask({ url: `${base}/hold/b/9` });
      await waitFor(
        'the later task in the journal on disk',
        () => onDisk(state.dir)?.tasks.some((t) => t.taskIdentifier === later) === true,
      );
      group('b').release();
      await waitFor('the later download', () => completed.has(later), 20_000);
      expect(sha256(fs.readFileSync(locations.get(later) as string))).toBe(sha256(makeBytes(SIZE, 9)));
      expect(sessionWarnings).toHaveLength(1);
      expect(uncaught).toEqual([]);
    } finally {
      const invalidated = new Promise((resolve) => session.once('invalidated', resolve));
      session.invalidateAndCancel();
      await invalidated;
      group('a').release();
      group('b').release();
    }
  });

  it('an upload body the state folder cannot hold runs from memory; after kill -9 the next process reports the task failed (-3001) instead of forgetting it', async (context) => {
    const state = stateTmpfs(context);
    const downloadDirectory = downloadFolder();
    // Room for the lock file and the journal, not for a 1 MB body.
    fill(state.dir, 48 * 1024);
    const options = { identifier: 'disk.body', stateDirectory: state.dir, downloadDirectory };
    const first = await runChild(
      { ...options, uploads: [{ url: `${base}/upload/slow`, bytes: 1_000_000 }] },
      (line) => line.type === 'uploadprogress',
      { deadlineMs: 30_000 },
    );
    expect(first.signal, JSON.stringify(first.lines)).toBe('SIGKILL');
    expect(first.timedOut).toBe(false);
    expect(first.lines.find((l) => l.type === 'warning')).toMatchObject({
      code: 'ENOSPC',
      path: expect.stringMatching(/\/body-1-[0-9a-f]+$/),
    });
    expect(first.lines.filter((l) => l.type === 'error')).toEqual([]);
    // Journaled as a task whose body lived only in that process; no half-written body is left.
    expect(onDisk(state.dir)?.tasks).toMatchObject([{ taskIdentifier: 1, bodyInMemory: true }]);
    expect(fs.readdirSync(state.dir).filter((f) => f.startsWith('body-'))).toEqual([]);

    const second = await runChild(options, undefined, { deadlineMs: 30_000 });
    expect(second.code, JSON.stringify(second.lines)).toBe(0);
    expect(second.lines.filter((l) => l.type === 'sessioncompleted')).toEqual([
      { type: 'sessioncompleted', id: 1, success: false, errorCode: -3001 },
    ]);
  });
});
