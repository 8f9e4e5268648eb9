// Item 2 of issue 14: a background session (macOS, no journal) numbers new tasks past every
// identifier an earlier process gave out, so that a task the OS recovers later never shares an
// identifier with a new one. lib/task-counter.ts is plain JS and runs here.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskCounter } from '../../lib/task-counter';

describe('TaskCounter (background-session task identifiers)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-counter-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Session's use: next = counter.first; for each task: id = next++, counter.taken(next).
  function giveOut(counter: TaskCounter, count: number): number[] {
    const ids: number[] = [];
    let next = counter.first;
    for (let i = 0; i < count; i++) {
      ids.push(next++);
      counter.taken(next);
    }
    return ids;
  }

  it('a relaunched process starts past every identifier the earlier one gave out', () => {
    const first = new TaskCounter(dir);
    expect(first.first).toBe(1);
    const earlier = giveOut(first, 70);
    const relaunched = new TaskCounter(dir);
    expect(relaunched.first).toBe(Math.max(...earlier) + 1);
    const later = giveOut(relaunched, 200);
    const again = new TaskCounter(dir);
    expect(again.first).toBeGreaterThan(Math.max(...later));
    expect(new Set([...earlier, ...later]).size).toBe(270);
  });

  it('continues exactly where the earlier process stopped, written before the identifier is used', () => {
    const counter = new TaskCounter(dir);
    const file = path.join(dir, 'next-task-identifier');
    expect(giveOut(counter, 2)).toEqual([1, 2]);
    expect(fs.readFileSync(file, 'utf8')).toBe('3\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    counter.taken(3); // nothing new: no write
    counter.taken(10); // a recovered task 9 was reported
    expect(new TaskCounter(dir).first).toBe(10);
  });

  it('a damaged counter starts past any count an earlier process can have reached', () => {
    fs.writeFileSync(path.join(dir, 'next-task-identifier'), 'garbage');
    expect(new TaskCounter(dir).first).toBeGreaterThan(1e12);
  });

  it('a link planted at the temp name (it was the pid) or at the counter is never written through', () => {
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(dir, `next-task-identifier.${process.pid}.tmp`));
    const counter = new TaskCounter(dir);
    giveOut(counter, 3);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    fs.rmSync(path.join(dir, 'next-task-identifier'));
    fs.symlinkSync(victim, path.join(dir, 'next-task-identifier'));
    const relaunched = new TaskCounter(dir);
    expect(relaunched.first).toBeGreaterThan(1e12); // unusable: numbered past any count
    relaunched.taken(relaunched.first + 1);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.lstatSync(path.join(dir, 'next-task-identifier')).isFile()).toBe(true);
  });

  it('a FIFO at the counter does not make the session wait (child process, 10 s deadline)', () => {
    execFileSync('mkfifo', [path.join(dir, 'next-task-identifier')]);
    const script = `const { TaskCounter } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'task-counter.js'))});
      const c = new TaskCounter(${JSON.stringify(dir)}); c.taken(c.first + 1); console.log(c.first > 1e12 ? 'ok' : 'wrong');`;
    const run = spawnSync(process.execPath, ['-e', script], { timeout: 10_000, encoding: 'utf8' });
    expect(run.signal).toBe(null);
    expect(run.stdout.trim()).toBe('ok');
  });
});
