// The journal's cost per task does not grow with the number of tasks: N downloads started at
// once in a persistent session, run to the end, and the bytes the process wrote into the
// journal counted (crash-child.js wraps fs.writeSync for the journal's files). Before the log,
// every change rewrote the whole document: the bytes per task grew with N.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { useTaskServer } from '../helpers/task-server';

const CHILD = path.join(__dirname, '..', 'helpers', 'crash-child.js');
/** A task's records (start, partial file, response, completion, delivery) stay well under this. */
const BYTES_PER_TASK_BOUND = 4096;

const server = useTaskServer();

function journalBytesFor(tasks: number): Promise<{ bytes: number; writes: number; completed: number }> {
  const root = tempDir('urlsession-journal-scale-');
  const urls = Array.from({ length: tasks }, (_, i) => ({
    name: `f${i}`,
    url: `${server.base}/file/f${i}?size=100&seed=${i + 1}&etag=e${i}`,
  }));
  const options = {
    identifier: 'journal.scale',
    stateDirectory: path.join(root, 'state'),
    downloadDirectory: path.join(root, 'dl'),
    urls,
    kill: { mode: 'none' },
    exitWhenIdle: true,
  };
  return new Promise((resolve, reject) => {
    const optionsFile = path.join(root, 'options.json');
    fs.writeFileSync(optionsFile, JSON.stringify(options));
    const child = spawn(process.execPath, [CHILD, `@${optionsFile}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (data: Buffer) => (out += data.toString()));
    child.on('exit', (code) => {
      const lines = out
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; journalBytes?: number; journalWrites?: number });
      const idle = lines.find((l) => l.type === 'idle');
      if (code !== 0 || idle === undefined) return reject(new Error(`child exited ${code}: ${out.slice(-500)}`));
      expect(fs.readdirSync(path.join(root, 'dl'))).toHaveLength(tasks);
      resolve({
        bytes: idle.journalBytes ?? 0,
        writes: idle.journalWrites ?? 0,
        completed: lines.filter((l) => l.type === 'completed').length,
      });
    });
  });
}

describe('the journal at scale', () => {
  it('bytes written per task stay bounded from 250 to 2,500 tasks started at once (under 4 KiB, and less than twice as many at 10x the tasks)', async () => {
    const small = await journalBytesFor(250);
    expect(small.completed).toBe(250);
    expect(small.bytes / 250).toBeLessThan(BYTES_PER_TASK_BOUND);
    const large = await journalBytesFor(2500);
    expect(large.completed).toBe(2500);
    expect(large.bytes / 2500).toBeLessThan(BYTES_PER_TASK_BOUND);
    // Constant: ten times the tasks, less than twice the bytes per task (compaction rewrites the
    // log once it has grown past the state it holds, so it adds at most what was appended).
    expect(large.bytes / 2500).toBeLessThan((small.bytes / 250) * 2);
    console.log(
      `journal: ${(small.bytes / 250).toFixed(0)} B/task at 250 tasks, ${(large.bytes / 2500).toFixed(0)} B/task at 2,500`,
    );
  }, 300_000);
});
