// Process and thread lifecycle, each in a child process so that a crash is seen as an exit
// code or signal rather than a dead test worker.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir as newTempDir } from '../helpers/temp';
import { useTaskServer } from '../helpers/task-server';

const FIXTURES = path.join(__dirname, 'fixtures');
const ROOT = path.join(__dirname, '..', '..');
const server = useTaskServer();

type Exit = { code: number | null; signal: string | null; stdout: string; stderr: string };

function run(args: string[], timeoutMs = 30_000): Promise<Exit> {
  return runCommand(process.execPath, args, timeoutMs);
}

function runCommand(command: string, args: string[], timeoutMs: number): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const temp = (): string => newTempDir('urlsession-life-');

describe('lifecycle', () => {
  it('a script exits by itself once its download completes', async () => {
    const result = await run([
      path.join(FIXTURES, 'exit-by-itself.js'),
      `${server.base}/file?size=3000000&delay=2&chunk=65536`,
      temp(),
    ]);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('completed 1 true 200\nexit\n');
  });

  it('a process kept alive by other work exits when that work ends, after the download', async () => {
    const result = await run([
      path.join(FIXTURES, 'exit-by-itself.js'),
      `${server.base}/file?size=100000`,
      temp(),
      '700',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('completed 1 true 200\ntimer\nexit\n');
  });

  it('worker_threads that exit or are terminated mid-transfer do not crash the process', async () => {
    const dir = temp();
    const result = await run(
      [
        path.join(FIXTURES, 'workers.js'),
        `${server.base}/file?size=50000000&delay=5&chunk=16384`,
        `${server.base}/file?size=1000`,
        dir,
      ],
      60_000,
    );
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('ok 8 true 200');
    // Workers' partial files are gone; only the final download remains.
    expect(fs.readdirSync(dir)).toEqual(['file']);
  });

  // Linux: the curl engine needs descriptors for its epoll set and its wake-up eventfd. Not
  // under the sanitizer run: ASan's runtime, preloaded into the child, needs descriptors of its
  // own and aborts when none is left (the plain run of the suite checks this).
  it.runIf(process.platform === 'linux' && !process.env.URLSESSION_SANITIZER)(
    'a session created with no file descriptor left throws ERR_URLSESSION_ENGINE_START and starts no engine thread',
    async () => {
      // A low limit keeps the exhaustion cheap; the child opens /dev/null until EMFILE.
      const script = 'ulimit -n 128 && exec "$0" "$@"';
      const result = await runCommand(
        '/bin/sh',
        ['-c', script, process.execPath, path.join(FIXTURES, 'no-descriptors.js'), `${server.base}/echo`],
        30_000,
      );
      expect(result.signal).toBeNull();
      expect(result.code).toBe(0);
      const seen = JSON.parse(result.stdout) as {
        threadsBefore: number;
        threadsAfter: number;
        created?: boolean;
        thrown?: { name: string; code: string; message: string };
        retry: unknown;
      };
      expect(seen.created).toBeUndefined();
      expect(seen.thrown).toMatchObject({ name: 'Error', code: 'ERR_URLSESSION_ENGINE_START' });
      expect(seen.thrown?.message).toMatch(/epoll_create1|eventfd|epoll_ctl/);
      // No engine thread was left to spin on the broken epoll set.
      expect(seen.threadsAfter).toBe(seen.threadsBefore);
      // The failure left nothing behind that stops the next session.
      expect(seen.retry).toEqual({ success: true, statusCode: 200 });
    },
  );

  it("a throwing listener becomes 'uncaughtException' and delivery goes on", async () => {
    const result = await run([path.join(FIXTURES, 'throwing-listener.js'), `${server.base}/echo`]);
    expect(result.code).toBe(0);
    const seen = JSON.parse(result.stdout) as string[];
    expect(seen.filter((s) => s.startsWith('uncaught:')).sort()).toEqual(['uncaught:boom 1', 'uncaught:boom 2']);
    expect(seen.filter((s) => s.startsWith('module:')).sort()).toEqual(['module:1', 'module:2']);
    expect(seen).toContain('eventscompleted');
  });

  it('loads through require() and import, sharing one module', async () => {
    const script = `
      import * as esm from ${JSON.stringify(path.join(ROOT, 'dist', 'index.mjs'))};
      import def from ${JSON.stringify(path.join(ROOT, 'dist', 'index.mjs'))};
      import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
      const s = esm.createSession({ configuration: esm.createSessionConfiguration() });
      s.on('sessioncompleted', (e) => { console.log(JSON.stringify({ same: def === cjs && esm.createSession === cjs.createSession, engine: esm.engine, status: e.statusCode })); s.finishTasksAndInvalidate(); });
      s.dataTask({ url: ${JSON.stringify(`${server.base}/echo`)} });`;
    const result = await run(['--input-type=module', '-e', script]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      same: true,
      engine: process.platform === 'darwin' ? 'apple' : 'curl',
      status: 200,
    });
  });
});
