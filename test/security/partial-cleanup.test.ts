// Hidden partial files do not outlive their use (issue 15, item 5): a plain session's running
// downloads remove theirs when the process calls process.exit(), while resume data's file and a
// persistent session's journaled file stay; and a session that downloads into a folder sweeps
// the stale ones a dead process left there, and only those.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { mountTmpfs } from '../helpers/state-folder';
import { waitFor } from '../helpers/wait-for';
import * as URLSession from '../../lib/index';
import { decodeResumeData } from '../../lib/resume-data';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';

const server = useTaskServer();

const CHILD = path.join(__dirname, '..', 'helpers', 'exit-child.js');
const partials = (dir: string): string[] =>
  fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.partial'))
    .sort();

interface Line {
  type: string;
  [key: string]: any;
}

function runExitChild(options: object): Promise<{ code: number | null; lines: Line[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (data: Buffer) => (out += data.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({
        code,
        lines: out
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Line),
      });
    });
  });
}

describe('process.exit() with downloads running', () => {
  it("removes the running and retrying downloads' partial files of a plain session; resume data and a persistent session keep theirs", async () => {
    const root = tempDir('urlsession-exit-');
    const plainDirectory = path.join(root, 'plain');
    const persistentDirectory = path.join(root, 'persistent');
    const n = 20;
    const { code, lines } = await runExitChild({
      base: server.base,
      plainDirectory,
      persistentDirectory,
      stateDirectory: path.join(root, 'state'),
      n,
    });
    expect(lines.find((l) => l.type === 'error')).toBeUndefined();
    expect(code).toBe(0);
    const resume = lines.find((l) => l.type === 'resume-data') as Line;
    const exiting = lines.find((l) => l.type === 'exiting') as Line;
    // Before exit: the resume-data file, the retrying one and n running ones; one journaled.
    expect(exiting.plain).toHaveLength(n + 2);
    expect(exiting.persistent).toHaveLength(1);
    expect(exiting.persistent[0]).toMatch(/^\.urlsession\.[0-9a-f]{16}\.partial$/);

    // After: only the file resume data names, still the file it names, and the journaled one.
    expect(resume.partials).toHaveLength(1);
    expect(partials(plainDirectory)).toEqual(resume.partials);
    expect(fs.readdirSync(plainDirectory)).toEqual(resume.partials);
    const state = decodeResumeData(Buffer.from(resume.resumeData, 'base64'));
    expect(path.basename(state.partialPath)).toBe(resume.partials[0]);
    expect(partials(persistentDirectory)).toEqual(exiting.persistent);

    // The resume data still works in a new session of this process.
    const session = URLSession.createSession({
      configuration: URLSession.createSessionConfiguration({ downloadDirectory: plainDirectory }),
    });
    try {
      const result = await session.download({ resumeData: Buffer.from(resume.resumeData, 'base64') }).done;
      expect(sha256(fs.readFileSync(result.location))).toBe(sha256(makeBytes(2_000_000, 1)));
      const ranges = server.seen.filter((r) => r.url.includes('seed=1&') && r.headers.range !== undefined);
      expect(ranges.length).toBeGreaterThan(0);
    } finally {
      session.invalidateAndCancel();
    }
  }, 120_000);
});

// A pid no process has: one that just exited (checked to be gone).
function deadPid(): number {
  const { pid } = spawnSync('true');
  expect(pid).toBeGreaterThan(0);
  expect(() => process.kill(pid as number, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  return pid as number;
}

const hex = (): string =>
  Math.floor(Math.random() * 2 ** 52)
    .toString(16)
    .padStart(16, '0')
    .slice(0, 16);
const DAY = 24 * 60 * 60 * 1000;
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function plant(dir: string, name: string, ageMs: number, contents = 'partial bytes'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, contents, { mode: 0o600, flag: 'wx' });
  const when = (Date.now() - ageMs) / 1000;
  fs.utimesSync(file, when, when);
  return file;
}

describe('stale partial files in a download folder', () => {
  it('a session downloading into the folder removes exactly the partial files of dead processes not written for a day', async () => {
    const dir = tempDir('urlsession-sweep-');
    const elsewhere = tempDir('urlsession-sweep-victim-');
    const victim = path.join(elsewhere, 'victim.txt');
    fs.writeFileSync(victim, 'keep me\n');
    const dead = deadPid();
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const old = 2 * DAY;
      const stale = [
        plant(dir, `.report.pdf.${dead}.${hex()}.partial`, old),
        // A name that was cut, and NSURLSession resume data kept next to its destination (macOS).
        plant(dir, `.r\u00e9sum\u00e9 (final).tar.gz.${dead}.${hex()}.partial`, old),
        plant(dir, `.movie.mp4.resumedata.${dead}.${hex()}.partial`, old),
      ];
      const kept: string[] = [
        plant(dir, `.this-process.bin.${process.pid}.${hex()}.partial`, old),
        plant(dir, `.other-live-process.bin.${sleeper.pid}.${hex()}.partial`, old),
        plant(dir, `.young.bin.${dead}.${hex()}.partial`, DAY - 60 * 60 * 1000),
        // A persistent session's journaled file: a later process resumes it through its journal.
        plant(dir, `.urlsession.${hex()}.partial`, old),
        // An earlier release's name without a pid: nobody can tell whether its owner lives.
        plant(dir, `.no-pid.bin.${hex()}.partial`, old),
        plant(dir, 'report.pdf', old),
        plant(dir, `report.pdf.${dead}.${hex()}.partial`, old), // not hidden: not one of ours
      ];
      const hardLinked = plant(dir, `.linked.bin.${dead}.${hex()}.partial`, old);
      fs.linkSync(hardLinked, path.join(dir, 'second-name-of-linked'));
      kept.push(hardLinked, path.join(dir, 'second-name-of-linked'));
      const link = path.join(dir, `.link.bin.${dead}.${hex()}.partial`);
      fs.symlinkSync(victim, link);
      fs.lutimesSync(link, (Date.now() - old) / 1000, (Date.now() - old) / 1000);
      kept.push(link);
      const folder = path.join(dir, `.folder.bin.${dead}.${hex()}.partial`);
      fs.mkdirSync(folder);
      kept.push(folder);
      const fifo = path.join(dir, `.fifo.bin.${dead}.${hex()}.partial`);
      spawnSync('mkfifo', [fifo]);
      kept.push(fifo);
      if (asRoot) {
        const theirs = plant(dir, `.theirs.bin.${dead}.${hex()}.partial`, old);
        fs.chownSync(theirs, 65534, 65534);
        fs.utimesSync(theirs, (Date.now() - old) / 1000, (Date.now() - old) / 1000);
        kept.push(theirs);
      }

      const session = URLSession.createSession({
        configuration: URLSession.createSessionConfiguration({ downloadDirectory: dir }),
      });
      try {
        const result = await session.download(`${server.base}/file?size=1000&seed=3`).done;
        kept.push(result.location);
        await waitFor('the stale partial files to be swept', () => stale.every((file) => !fs.existsSync(file)));
        // The sweep as a whole has ended: nothing else goes later.
        const { sweepStalePartials } = await import('../../lib/partial-sweep');
        expect(await sweepStalePartials(dir)).toBe(stale.length);
        expect(fs.readdirSync(dir).sort()).toEqual(kept.map((file) => path.basename(file)).sort());
        expect(fs.readFileSync(victim, 'utf8')).toBe('keep me\n');
        expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
      } finally {
        session.invalidateAndCancel();
      }
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('a folder of 100,000 files is swept in the background: the event loop keeps turning and never stalls', async () => {
    // A tmpfs where we may mount one: making 100,000 files on a busy disk takes longer than the test.
    const tmpfs = mountTmpfs('64m');
    const dir = tmpfs?.dir ?? tempDir('urlsession-sweep-large-');
    try {
      const dead = deadPid();
      // Names the sweep must look at (lstat) and keep, a few stale ones, the rest other files.
      const names = Array.from({ length: 100_000 }, (_, i) =>
        i % 10 === 0 ? `.young-${i}.bin.${dead}.${hex()}.partial` : `file-${i}`,
      );
      execFileSync('xargs', ['-0', 'touch', '--'], { cwd: dir, input: names.join('\0') });
      const stale = Array.from({ length: 50 }, (_, i) =>
        plant(dir, `.stale-${i}.bin.${dead}.${hex()}.partial`, 2 * DAY),
      );
      expect(fs.readdirSync(dir)).toHaveLength(100_050);
      const { sweepStalePartials } = await import('../../lib/partial-sweep');
      const session = URLSession.createSession({
        configuration: URLSession.createSessionConfiguration({ downloadDirectory: dir }),
      });
      const delay = monitorEventLoopDelay({ resolution: 10 });
      let turns = 0;
      let sweeping = true;
      const turn = (): void => {
        turns++;
        if (sweeping) setImmediate(turn);
      };
      try {
        delay.enable();
        session.downloadTask({ url: `${server.base}/file?size=10&seed=5` });
        setImmediate(turn);
        expect(await sweepStalePartials(dir)).toBe(stale.length);
        sweeping = false;
        delay.disable();
        // A sweep done in one go would have let the loop turn a handful of times at most.
        expect(turns).toBeGreaterThan(1000);
        expect(delay.max / 1e6).toBeLessThan(250);
        expect(stale.some((file) => fs.existsSync(file))).toBe(false);
        expect(fs.readdirSync(dir).filter((name) => name.startsWith('.young-'))).toHaveLength(10_000);
      } finally {
        sweeping = false;
        session.invalidateAndCancel();
      }
    } finally {
      tmpfs?.remove();
    }
  }, 180_000);
});
