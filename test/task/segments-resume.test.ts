// A segmented download of a persistent session survives SIGKILL (issue 18): the journal keeps
// the engine's segment plan (DownloadProgress `segments`), and the next process resumes every
// unfinished segment with a Range request from its own offset, not from zero and not from the
// segment's start, and the file's sha256 is right. Against a paced real server on 127.0.0.1;
// the child is test/helpers/segments-child.js.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';
import { waitFor } from '../helpers/wait-for';

const server = useTaskServer();
const CHILD = path.join(__dirname, '..', 'helpers', 'segments-child.js');
const MiB = 1 << 20;

interface Line {
  type: string;
  total?: number;
  location?: string;
  success?: boolean;
  message?: string;
}

function life(options: object): { child: ChildProcess; lines: Line[]; exited: Promise<void> } {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Line[] = [];
  let buffered = '';
  child.stdout?.on('data', (data: Buffer) => {
    buffered += data.toString();
    for (let newline; (newline = buffered.indexOf('\n')) >= 0;) {
      lines.push(JSON.parse(buffered.slice(0, newline)) as Line);
      buffered = buffered.slice(newline + 1);
    }
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, lines, exited };
}

/** Every journal line of the state folder, oldest first. */
function journalText(stateDirectory: string): string {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/^journal\.(log|json)/.test(entry.name)) found.push(fs.readFileSync(full, 'utf8'));
    }
  };
  if (fs.existsSync(stateDirectory)) walk(stateDirectory);
  return found.join('\n');
}

/** The last segment plan the journal holds, as [start, next, end] triples. */
function lastPlan(stateDirectory: string): number[][] | undefined {
  const plans = [...journalText(stateDirectory).matchAll(/"segmentPlan":"([0-9,-]+)"/g)].map((m) => m[1]);
  const last = plans.at(-1);
  return last?.split(',').map((segment) => segment.split('-').map(Number));
}

describe('segmented downloads across SIGKILL', () => {
  it('the next process resumes every segment from its own journaled offset, byte-exact', async () => {
    const root = tempDir('urlsession-seg-kill-');
    const options = {
      identifier: 'segments-kill',
      stateDirectory: path.join(root, 'state'),
      downloadDirectory: path.join(root, 'downloads'),
    };
    const size = 8 * MiB + 11;
    const key = 'kill';
    // About 1.6 MB/s per request: the kill comes while every segment is under way.
    const url = `${server.base}/segfile?size=${size}&seed=13&key=${key}&delay=20&chunk=32768`;
    const first = life({ ...options, url, segments: 4 });
    await waitFor('every segment to have bytes in the journaled plan', () => {
      const plan = lastPlan(options.stateDirectory);
      return plan !== undefined && plan.length === 4 && plan.every(([start, next]) => next > start);
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const plan = lastPlan(options.stateDirectory)!;
    expect(plan.some(([, next, end]) => next < end)).toBe(true);
    const before = server.seen.length;

    const second = life(options);
    await waitFor('the resumed download to complete', () => second.lines.some((l) => l.type === 'completed'), 30_000);
    const completed = second.lines.find((l) => l.type === 'completed')!;
    expect(completed.success, completed.message).toBe(true);
    const location = second.lines.find((l) => l.type === 'downloadcompleted')!.location!;
    expect(sha256(fs.readFileSync(location))).toBe(sha256(makeBytes(size, 13)));
    second.child.kill('SIGKILL');
    await second.exited;

    // After the kill: only Range requests, every unfinished segment's from its own next offset
    // (a segment done early may split another: later requests start elsewhere).
    const resumed = server.seen.slice(before).filter((r) => r.url.includes(`key=${key}&`));
    expect(resumed.every((r) => r.headers.range !== undefined)).toBe(true);
    const starts = resumed.map((r) => Number(/^bytes=(\d+)-/.exec(String(r.headers.range))![1]));
    const unfinished = plan.filter(([, next, end]) => next < end).map(([, next]) => next);
    expect(starts.slice(0, unfinished.length).sort((a, b) => a - b)).toEqual(unfinished);
    for (const [start, next] of plan) expect(starts).not.toContain(next > start ? start : -1);
    expect(starts).not.toContain(0);
    for (const r of resumed) expect(r.headers['if-range']).toBe('"v1"');
  }, 60_000);
});
