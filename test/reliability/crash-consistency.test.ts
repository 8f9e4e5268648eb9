// Crash consistency of a persistent session: 54 lives of one session, each ended by SIGKILL,
// at random moments and at chosen ones (right after downloadTask() returned, inside a listener,
// in the middle of a journal write, between a finished file's move into place and its journaling),
// while every life starts new downloads. Then one last life runs until nothing is left.
// Asserted: every identifier ever returned completes successfully at least once (completions
// are at-least-once, README "Background sessions"), always with the same file, whose sha256 is
// right; no identifier is given twice; the download folder holds exactly one file per task (no
// second copy, no partial file); the state folder keeps no journal, temp or body file.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';

const CHILD = path.join(__dirname, '..', 'helpers', 'crash-child.js');
const KILL_ROUNDS = 54;
const NEW_TASKS_PER_LIFE = 2;
/** Where lives end, in turn; 'random' lives are killed by this test at a random moment. */
const MODES = [
  'random',
  'after-start',
  'random',
  'listener',
  'journal-write',
  'commit',
  'random',
  'journal-write',
  'listener',
] as const;

interface Line {
  type: string;
  [key: string]: any;
}
interface Life {
  lines: Line[];
  signal: NodeJS.Signals | null;
  code: number | null;
  killedBy?: 'timer' | 'idle';
}

const server = useTaskServer();

// One life. `killAfterMs`: this test kills it that long after it opened the session. A life
// that reaches the moment where nothing is left is killed then, unless it is the last one.
function live(options: object, killAfterMs: number | undefined, last: boolean): Promise<Life> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Line[] = [];
    let buffered = '';
    let timer: NodeJS.Timeout | undefined;
    let killedBy: Life['killedBy'];
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`a life did not end within 30 s: ${JSON.stringify(lines.slice(-5))}`));
    }, 30_000);
    child.stdout.on('data', (data: Buffer) => {
      buffered += data.toString();
      for (let newline; (newline = buffered.indexOf('\n')) >= 0;) {
        const line = JSON.parse(buffered.slice(0, newline)) as Line;
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        if (line.type === 'open' && killAfterMs !== undefined) {
          timer = setTimeout(() => {
            killedBy ??= 'timer';
            child.kill('SIGKILL');
          }, killAfterMs);
        }
        if (line.type === 'idle' && !last) {
          killedBy ??= 'idle';
          child.kill('SIGKILL');
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(deadline);
      resolve({ lines, signal, code, killedBy });
    });
  });
}

describe('crash consistency of a persistent session', () => {
  it(`${KILL_ROUNDS} SIGKILLs (random, after start, in listeners, in journal writes, between commit and journal): every task once on disk with the right sha256, every identifier stable and completed`, async () => {
    const root = tempDir('urlsession-crash-');
    const stateDirectory = path.join(root, 'state');
    const downloadDirectory = path.join(root, 'downloads');
    const expected = new Map<string, string>(); // name -> sha256
    const names = new Map<number, string>(); // identifier -> name
    const completions = new Map<number, Line[]>();
    const locations = new Map<number, Set<string>>();
    const kills: Record<string, number> = {};
    let random = 12345;
    const next = (below: number): number => {
      random = (random * 1103515245 + 12345) % 2147483648;
      return random % below;
    };

    for (let life = 0; life <= KILL_ROUNDS; life++) {
      const last = life === KILL_ROUNDS;
      const mode = last ? 'none' : MODES[life % MODES.length];
      const urls = [];
      for (let k = 0; k < (last ? 0 : NEW_TASKS_PER_LIFE); k++) {
        const seed = life * 10 + k + 1;
        const size = 50_000 + next(900_000);
        const name = `t${life}-${k}.bin`;
        expected.set(name, sha256(makeBytes(size, seed)));
        urls.push({
          name,
          url: `${server.base}/file/${name}?size=${size}&seed=${seed}&etag=e${seed}&delay=5&chunk=16384`,
        });
      }
      const kill = { mode: mode === 'random' ? 'none' : mode, n: 1 + next(mode === 'journal-write' ? 6 : 2) };
      const result = await live(
        { identifier: 'crash.torture', stateDirectory, downloadDirectory, urls, kill, exitWhenIdle: last },
        mode === 'random' ? next(400) : undefined,
        last,
      );
      for (const line of result.lines) {
        if (line.type === 'started') {
          // An identifier is never given to a second task.
          expect(names.has(line.id), `identifier ${line.id} given twice`).toBe(false);
          names.set(line.id, line.name);
        } else if (line.type === 'completed') {
          completions.set(line.id, [...(completions.get(line.id) ?? []), line]);
        } else if (line.type === 'downloadcompleted') {
          locations.set(line.id, (locations.get(line.id) ?? new Set()).add(line.location));
        } else if (line.type === 'warning') {
          throw new Error(`warning: ${line.message}`);
        }
      }
      if (last) {
        expect(result.code, JSON.stringify(result.lines.slice(-5))).toBe(0);
      } else {
        expect(result.signal, JSON.stringify(result.lines.slice(-5))).toBe('SIGKILL');
        const where =
          result.lines.find((l) => l.type === 'killing')?.where ?? (result.killedBy === 'timer' ? 'random' : 'idle');
        const kind = where.replace(/ \d+$/, '');
        kills[kind] = (kills[kind] ?? 0) + 1;
      }
    }

    const killCount = Object.values(kills).reduce((a, b) => a + b, 0);
    expect(killCount).toBe(KILL_ROUNDS);
    // Every kind of moment was hit at least once.
    for (const kind of ['random', 'after start', 'listener', 'journal write', 'between commit and journal']) {
      expect(kills[kind] ?? 0, `kills: ${JSON.stringify(kills)}`).toBeGreaterThan(0);
    }
    // A life killed inside downloadTask() (in its journal write) never returned that identifier;
    // the task may still run in a later life if its record was whole: it is adopted by its file.
    const returned = names.size;
    for (const [id, seen] of locations) {
      if (names.has(id)) continue;
      const name = path.basename([...seen][0]);
      expect([...names.values()], `task ${id} wrote over the file of another task`).not.toContain(name);
      names.set(id, name);
    }
    expect(returned).toBeGreaterThan(KILL_ROUNDS);
    let redelivered = 0;
    for (const [id, name] of names) {
      const delivered = completions.get(id) ?? [];
      expect(delivered.length, `task ${id} (${name}) never completed`).toBeGreaterThan(0);
      for (const c of delivered) expect(c, `task ${id}`).toMatchObject({ success: true, errorCode: 0 });
      redelivered += delivered.length - 1;
      // Always the same file: the task's own name, never a second copy.
      expect([...(locations.get(id) ?? [])]).toEqual([path.join(downloadDirectory, name)]);
      expect(sha256(fs.readFileSync(path.join(downloadDirectory, name))), name).toBe(expected.get(name));
    }
    expect(fs.readdirSync(downloadDirectory).sort()).toEqual([...names.values()].sort());
    // The journal went with the session's end; what stays is the lock and the cookie jar.
    expect(fs.readdirSync(stateDirectory).filter((f) => f !== 'lock' && f !== 'cookies.txt')).toEqual([]);
    console.log(
      `crash consistency: ${names.size} tasks (${returned} identifiers returned before a kill could stop it), ${killCount} kills ${JSON.stringify(kills)}, ${redelivered} completions delivered twice`,
    );
  }, 600_000);
});
