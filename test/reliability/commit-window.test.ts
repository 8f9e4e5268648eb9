// The narrow moments of a persistent session, one kill each (crash-child.js kills itself there):
// between a finished file's move into place and its journaling; right after downloadTask()
// returned, in the same tick; in the middle of the journal write that records a new task.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';

const CHILD = path.join(__dirname, '..', 'helpers', 'crash-child.js');

interface Line {
  type: string;
  [key: string]: any;
}

const server = useTaskServer();

function life(options: object): Promise<{ lines: Line[]; signal: NodeJS.Signals | null; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (data: Buffer) => (out += data.toString()));
    child.on('exit', (code, signal) =>
      resolve({
        lines: out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Line),
        signal,
        code,
      }),
    );
  });
}

function folders(): { identifier: string; stateDirectory: string; downloadDirectory: string } {
  const root = tempDir('urlsession-window-');
  return { identifier: 'window', stateDirectory: path.join(root, 'state'), downloadDirectory: path.join(root, 'dl') };
}

const requestsFor = (name: string): number => server.seen.filter((r) => r.url.startsWith(`/file/${name}?`)).length;

describe('kills at the narrow moments of a persistent session', () => {
  it('between the move into place and the journal: the next process reports the file once and fetches nothing', async () => {
    const d = folders();
    const url = `${server.base}/file/window.bin?size=300000&seed=5&etag=w5`;
    const first = await life({ ...d, urls: [{ name: 'window.bin', url }], kill: { mode: 'commit' } });
    expect(first.lines.at(-1)).toMatchObject({ type: 'killing', where: 'between commit and journal' });
    expect(fs.readdirSync(d.downloadDirectory)).toEqual(['window.bin']);
    const requests = requestsFor('window.bin');

    const second = await life({ ...d, urls: [], kill: { mode: 'none' }, exitWhenIdle: true });
    expect(second.code).toBe(0);
    const location = path.join(d.downloadDirectory, 'window.bin');
    expect(second.lines.filter((l) => l.type === 'downloadcompleted')).toEqual([
      { type: 'downloadcompleted', id: 1, location },
    ]);
    expect(second.lines.filter((l) => l.type === 'completed')).toMatchObject([{ id: 1, success: true, errorCode: 0 }]);
    expect(requestsFor('window.bin')).toBe(requests);
    expect(fs.readdirSync(d.downloadDirectory)).toEqual(['window.bin']);
    expect(sha256(fs.readFileSync(location))).toBe(sha256(makeBytes(300000, 5)));
  });

  it('in the same tick as downloadTask() returned: the task survives with its identifier, and no later task gets it', async () => {
    const d = folders();
    const url = (name: string, seed: number): string =>
      `${server.base}/file/${name}?size=200000&seed=${seed}&etag=t${seed}`;
    const first = await life({
      ...d,
      urls: [
        { name: 'a.bin', url: url('a.bin', 1) },
        { name: 'b.bin', url: url('b.bin', 2) },
      ],
      kill: { mode: 'after-start' },
    });
    expect(first.lines.filter((l) => l.type === 'started')).toEqual([
      { type: 'started', id: 1, name: 'a.bin' },
      { type: 'started', id: 2, name: 'b.bin' },
    ]);
    expect(first.signal).toBe('SIGKILL');

    const second = await life({
      ...d,
      urls: [{ name: 'c.bin', url: url('c.bin', 3) }],
      kill: { mode: 'none' },
      exitWhenIdle: true,
    });
    expect(second.code).toBe(0);
    expect(second.lines.filter((l) => l.type === 'started')).toEqual([{ type: 'started', id: 3, name: 'c.bin' }]);
    const completed = second.lines
      .filter((l) => l.type === 'completed')
      .map((l) => [l.id, l.success])
      .sort();
    expect(completed).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);
    expect(fs.readdirSync(d.downloadDirectory).sort()).toEqual(['a.bin', 'b.bin', 'c.bin']);
    for (const [name, seed] of [
      ['a.bin', 1],
      ['b.bin', 2],
      ['c.bin', 3],
    ] as const) {
      expect(sha256(fs.readFileSync(path.join(d.downloadDirectory, name)))).toBe(sha256(makeBytes(200000, seed)));
    }
  });

  it('in the middle of a journal write: the torn record is dropped, the session opens without a warning, and no file is left that no journal knows', async () => {
    for (let n = 1; n <= 4; n++) {
      const d = folders();
      const url = `${server.base}/file/torn.bin?size=100000&seed=9&etag=t9`;
      const first = await life({ ...d, urls: [{ name: 'torn.bin', url }], kill: { mode: 'journal-write', n } });
      expect(first.lines.at(-1), `write ${n}`).toMatchObject({ type: 'killing', where: `journal write ${n}` });
      const second = await life({ ...d, urls: [], kill: { mode: 'none' }, exitWhenIdle: true });
      expect(second.code).toBe(0);
      expect(
        second.lines.filter((l) => l.type === 'warning'),
        `write ${n}`,
      ).toEqual([]);
      const started = first.lines.some((l) => l.type === 'started');
      // Either the task was journaled whole (it completes) or not at all (it never was returned).
      const files = fs.existsSync(d.downloadDirectory) ? fs.readdirSync(d.downloadDirectory) : [];
      if (second.lines.some((l) => l.type === 'completed')) {
        expect(
          second.lines.filter((l) => l.type === 'completed'),
          `write ${n}`,
        ).toMatchObject([{ id: 1, success: true }]);
        expect(files, `write ${n}`).toEqual(['torn.bin']);
      } else {
        expect(started, `write ${n}: an identifier was returned but its task is gone`).toBe(false);
        expect(files, `write ${n}`).toEqual([]);
      }
    }
  });
});
