// `urlsession get --resume` over a slow link: the rate and ETA the CLI prints count only the
// bytes this run transferred, never the ones a previous run left on disk (issue 15, item 9).
// The test server models the link in user space: the first request gets KEPT bytes at once and
// then nothing (the run is interrupted there, leaving resume data); a Range request gets CHUNK
// bytes per INTERVAL_MS. Printed rates are checked against that ceiling, not the wall clock.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256 } from '../helpers/task-server';
import { listenLocal } from '../helpers/listen';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const SIZE = 3_500_000;
const KEPT = 2_500_000;
/** The first run is stopped once this much is on disk (the rest of KEPT follows at once). */
const KEPT_BEFORE_STOP = 2_000_000;
const CHUNK = 16_384;
const INTERVAL_MS = 40;
/** The most the link can carry, in bytes per second: one CHUNK per INTERVAL_MS. */
const LINK_RATE = (CHUNK * 1000) / INTERVAL_MS;
const BODY = makeBytes(SIZE, 91);

let server: http.Server;
let base: string;
let cache: string;
const rangeStarts: number[] = [];

beforeAll(async () => {
  cache = tempDir('urlsession-rate-cache-');
  server = http.createServer((req, res) => {
    const headers = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', etag: '"r1"' };
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range === null) {
      // The fast first part, then a stall: the test interrupts the CLI while it waits.
      res.writeHead(200, { ...headers, 'content-length': SIZE });
      return void res.write(BODY.subarray(0, KEPT));
    }
    let offset = Number(range[1]);
    rangeStarts.push(offset);
    res.writeHead(206, {
      ...headers,
      'content-range': `bytes ${offset}-${SIZE - 1}/${SIZE}`,
      'content-length': SIZE - offset,
    });
    let timer: NodeJS.Timeout | undefined;
    res.once('close', () => clearTimeout(timer));
    const send = (): void => {
      const end = Math.min(SIZE, offset + CHUNK);
      res.write(BODY.subarray(offset, end));
      offset = end;
      if (offset < SIZE) timer = setTimeout(send, INTERVAL_MS);
      else res.end();
    };
    send();
  });
  base = await listenLocal(server);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `command args` with the test's cache folder; `done` settles when it exits. */
function launch(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(command, args, {
    env: { ...process.env, XDG_CACHE_HOME: cache, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<Run>((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}

/** Bytes in the hidden partial file(s) the CLI is downloading into, in `dir`. */
function partialBytes(dir: string): number {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.partial'))
    .reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
}

const UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9 };
const bytesOf = (value: string, unit: string): number => Number(value) * UNITS[unit];

/**
 * A first run that gets (up to) KEPT bytes and is interrupted once KEPT_BEFORE_STOP are on disk
 * (progress events are spaced out, so the file is watched), leaving its resume data.
 */
async function interruptedFirstRun(url: string, output: string): Promise<void> {
  const first = launch(process.execPath, [CLI, 'get', url, '-o', output, '--resume', '--json']);
  await waitFor('the first part on disk', () => partialBytes(path.dirname(output)) >= KEPT_BEFORE_STOP);
  first.child.kill('SIGINT');
  const stopped = await first.done;
  expect(stopped.code).toBe(130);
  expect(stopped.stderr).toContain('partial downloads kept');
}

function expectComplete(output: string): void {
  expect(createHash('sha256').update(fs.readFileSync(output)).digest('hex')).toBe(sha256(BODY));
}

describe('get --resume: rate and ETA', () => {
  it('the summary line counts the bytes of this run only, at no more than the link carries', async () => {
    const url = `${base}/file/pipe.bin`;
    const output = path.join(tempDir('urlsession-rate-'), 'pipe.bin');
    await interruptedFirstRun(url, output);
    const again = await launch(process.execPath, [CLI, 'get', url, '-o', output, '--resume']).done;
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`resuming ${url}`);
    expectComplete(output);
    const start = rangeStarts.at(-1) as number;
    expect(start).toBeGreaterThanOrEqual(KEPT_BEFORE_STOP);
    // "<url> -> <location> (1.0 MB in 2.6 s, 394.2 KB/s)"
    const summary =
      /-> .*pipe\.bin \((\d+(?:\.\d+)?) (B|KB|MB|GB) in (\d+\.\d) s, (\d+(?:\.\d+)?) (B|KB|MB|GB)\/s\)/.exec(
        again.stderr,
      );
    expect(summary, again.stderr).not.toBeNull();
    const [, moved, movedUnit, , rate, rateUnit] = summary as RegExpExecArray;
    expect(Math.abs(bytesOf(moved, movedUnit) - (SIZE - start))).toBeLessThanOrEqual(50_000);
    expect(bytesOf(rate, rateUnit)).toBeLessThanOrEqual(2 * LINK_RATE);
  });

  it('the live bar on a terminal shows a rate within the link and an ETA that fits it', async () => {
    const url = `${base}/file/tty.bin`;
    const output = path.join(tempDir('urlsession-rate-'), 'tty.bin');
    await interruptedFirstRun(url, output);
    const command = `${process.execPath} ${CLI} get '${url}' -o '${output}' --resume`;
    // util-linux script(1) on Linux, BSD script(1) on macOS.
    const args =
      process.platform === 'darwin' ? ['-q', '/dev/null', 'sh', '-c', command] : ['-qfec', command, '/dev/null'];
    const tty = await launch('script', args, { NO_COLOR: '1' }).done;
    expect(tty.code).toBe(0);
    expectComplete(output);
    const frames = tty.stdout
      .split(/\r|\n|\u001b\[1G/)
      .filter((line) => line.includes('tty.bin') && line.includes('%'));
    let rates = 0;
    let etas = 0;
    for (const frame of frames) {
      const rate = /(\d+(?:\.\d+)?) (B|KB|MB|GB)\/s/.exec(frame);
      if (rate !== null) {
        rates++;
        expect(bytesOf(rate[1], rate[2]), frame).toBeLessThanOrEqual(2 * LINK_RATE);
      }
      const eta = /(\d+(?:\.\d+)?) (B|KB|MB|GB)\/(\d+(?:\.\d+)?) (B|KB|MB|GB) .*ETA (\d+)s/.exec(frame);
      if (eta !== null) {
        etas++;
        // The bytes still to come (less the display's rounding) cannot arrive faster than 2x the link.
        const remaining = bytesOf(eta[3], eta[4]) - bytesOf(eta[1], eta[2]) - 100_000;
        expect(Number(eta[5]), frame).toBeGreaterThanOrEqual(Math.floor(remaining / (2 * LINK_RATE)));
      }
    }
    expect(rates, tty.stdout).toBeGreaterThan(3);
    expect(etas, tty.stdout).toBeGreaterThan(0);
  });
});
