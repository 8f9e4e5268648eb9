// Runs test/helpers/background-child.js (a persistent-session client printing one JSON line per event)
// in its own process, so a test can kill it at any line, or see it hang without hanging itself.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const CHILD = path.join(__dirname, 'background-child.js');

export interface Line {
  type: string;
  [key: string]: any;
}

export interface ChildRun {
  lines: Line[];
  signal: string | null;
  code: number | null;
  /** The child was still running at the deadline (and was killed). */
  timedOut: boolean;
}

/** Runs the child; `until` may kill it (returning true) when it has seen enough. */
export function runChild(
  options: object,
  until?: (line: Line, all: Line[]) => boolean,
  { deadlineMs = 60_000, env }: { deadlineMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [CHILD, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: env ?? process.env,
    });
    const lines: Line[] = [];
    let buffered = '';
    let timedOut = false;
    child.stdout?.on('data', (data: Buffer) => {
      buffered += data.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as Line;
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        if (until?.(line, lines) && child.exitCode === null) child.kill('SIGKILL');
      }
    });
    const guard = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ lines, signal, code, timedOut });
    });
  });
}
