// Runs the CLI as processes for the CLI tests: plainly (stdout and stderr are pipes), and under
// a real pseudo-terminal made by script(1) (util-linux on Linux, BSD on macOS), which is what a
// person at a terminal sees. Never spawnSync: the tests' servers live in the test process.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

export const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

/** The CLI's command line for a shell, every argument quoted. */
export function cliCommand(args: string[]): string {
  return [process.execPath, CLI, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI with stdout and stderr as pipes, in the folder `cwd` (default: the test's). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface TerminalRun {
  code: number | null;
  /** Every byte the terminal received. */
  raw: string;
  /** Every line of text ever drawn: escape sequences removed, a new line at each cursor move. */
  lines: string[];
  /** What the terminal shows at the end: the rows after every cursor move and erase was applied. */
  screen: string[];
}

/**
 * `command` (a shell command line) on a pseudo-terminal: stdin, stdout and stderr are the
 * terminal unless the command redirects them. `ctrlCWhen` types Ctrl-C on the terminal (the
 * line discipline sends SIGINT to the command) the first time it holds for the output so far.
 */
export function onTerminal(
  command: string,
  options: { env?: NodeJS.ProcessEnv; ctrlCWhen?: (text: string) => boolean } = {},
): Promise<TerminalRun> {
  const args =
    process.platform === 'darwin' ? ['-q', '/dev/null', 'sh', '-c', command] : ['-qfec', command, '/dev/null'];
  return new Promise((resolve) => {
    const child = spawn('script', args, {
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let raw = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      raw += d.toString();
      if (!typed && options.ctrlCWhen?.(plain(raw).join('\n'))) {
        typed = true;
        child.stdin.write('\u0003');
      }
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      child.stdin.end();
      resolve({ code, raw, lines: plain(raw), screen: finalScreen(raw) });
    });
  });
}

/** Cursor moves and line clears start a new line of text; colours and modes are dropped. */
function plain(raw: string): string[] {
  return raw
    .replace(/\u001b\[[0-9;?]*[ABEFGHJK]/g, '\n')
    .replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')
    .split(/\r\n|\r|\n/)
    .filter((line) => line.trim().length > 0);
}

/**
 * A terminal of unlimited width and height replaying `raw`: text, CR, LF and the CSI sequences
 * cli-progress and readline use (cursor up/down/column, erase in line, erase below).
 */
function finalScreen(raw: string): string[] {
  const rows: string[][] = [[]];
  let x = 0;
  let y = 0;
  const row = (): string[] => {
    while (rows.length <= y) rows.push([]);
    return rows[y];
  };
  for (let i = 0; i < raw.length;) {
    const csi = /^\u001b\[([0-9;?]*)([A-Za-z])/.exec(raw.slice(i, i + 16));
    if (csi !== null) {
      i += csi[0].length;
      const [, parameter, command] = csi;
      const n = /^\d+$/.test(parameter) ? Number(parameter) : 1;
      if (command === 'A') y = Math.max(0, y - n);
      else if (command === 'B') y += n;
      else if (command === 'G') x = n - 1;
      else if (command === 'K' && (parameter === '' || parameter === '0')) row().splice(x);
      else if (command === 'K' && parameter === '2') row().splice(0);
      else if (command === 'J' && (parameter === '' || parameter === '0')) {
        row().splice(x);
        rows.splice(y + 1);
      }
      continue;
    }
    const char = String.fromCodePoint(raw.codePointAt(i) as number);
    i += char.length;
    if (char === '\r') x = 0;
    else if (char === '\n') {
      y++;
      x = 0;
      row();
    } else {
      const line = row();
      while (line.length < x) line.push(' ');
      line[x++] = char;
    }
  }
  return rows.map((line) => line.join('').trimEnd()).filter((line) => line.length > 0);
}
