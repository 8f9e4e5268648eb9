// The `urlsession` command tested as a process: exit codes, the JSON event stream, files,
// Ctrl-C, --resume, persistent sessions, the offline demo and the TTY bars (under script(1)).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir as newTempDir } from '../helpers/temp';
import { waitFor } from '../helpers/wait-for';
import { makeBytes, sha256, startTaskServer, type TaskServer } from '../helpers/task-server';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
let server: TaskServer;
let cache: string;

beforeAll(async () => {
  server = await startTaskServer();
  cache = newTempDir('urlsession-cli-cache-');
});
afterAll(() => server.close());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: { interruptWhen?: (stdout: string) => boolean } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, XDG_CACHE_HOME: cache },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!interrupted && options.interruptWhen?.(stdout)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command and collects its raw stdout (never spawnSync: the server lives in this process). */
function raw(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: Buffer }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: { ...process.env, XDG_CACHE_HOME: cache, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const parts: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => parts.push(d));
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout: Buffer.concat(parts) });
    });
  });
}

const events = (stdout: string): Array<Record<string, any>> =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const fileSha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const tempDir = (): string => newTempDir('urlsession-cli-');

describe('urlsession CLI', () => {
  it('--help exits 0; usage errors exit 2 with the usage text', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: urlsession <command>/);
    for (const args of [
      ['bogus'],
      ['get'],
      ['get', 'http://x/', '-H', 'no-colon'],
      ['get', 'ftp://x/'],
      ['put', 'http://x/'],
      ['tasks'],
    ]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('usage: urlsession');
    }
  });

  it('get downloads several URLs into a folder and streams Titanium events as JSON lines', async () => {
    const dir = tempDir() + path.sep;
    const run = await cli([
      'get',
      `${server.base}/file?size=300000&seed=61&cd=attachment%3B%20filename%3Da.bin`,
      `${server.base}/file?size=200000&seed=62&cd=attachment%3B%20filename%3Db.bin`,
      '-o',
      dir,
      '--json',
    ]);
    expect(run.code).toBe(0);
    const stream = events(run.stdout);
    const completed = stream.filter((e) => e.event === 'downloadcompleted');
    expect(completed.map((e) => path.basename(e.location)).sort()).toEqual(['a.bin', 'b.bin']);
    expect(Object.keys(completed[0]).sort()).toEqual([
      'event',
      'location',
      'sessionIdentifier',
      'statusCode',
      'taskIdentifier',
    ]);
    const progress = stream.filter((e) => e.event === 'downloadprogress');
    expect(Object.keys(progress[0]).sort()).toEqual([
      'bytesPerSecond',
      'bytesWritten',
      'event',
      'secondsRemaining',
      'sessionIdentifier',
      'taskIdentifier',
      'totalBytesExpectedToWrite',
      'totalBytesWritten',
    ]);
    expect(
      stream.filter((e) => e.event === 'sessioncompleted').every((e) => e.success === true && e.statusCode === 200),
    ).toBe(true);
    expect(fileSha(path.join(dir, 'a.bin'))).toBe(sha256(makeBytes(300000, 61)));
    expect(fileSha(path.join(dir, 'b.bin'))).toBe(sha256(makeBytes(200000, 62)));
  });

  it('exits 1 naming the URL, cause and code once each on transfer failures', async () => {
    const refused = await cli(['get', 'http://127.0.0.1:1/nothing', '-o', tempDir() + path.sep, '--json']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^urlsession: http:\/\/127\.0\.0\.1:1\/nothing: Could not connect to the server\.[^\n]* \(error -1004\)\n$/,
    );
    expect(refused.stderr.split('-1004').length - 1).toBe(1);
    const missing = await cli(['get', `${server.base}/status/404`, '-o', tempDir() + path.sep, '--json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`urlsession: ${server.base}/status/404: HTTP 404 Not Found\n`);
  });

  it('Ctrl-C cancels and leaves nothing at the destination; --resume continues with Range', async () => {
    const dir = tempDir();
    const url = `${server.base}/file?size=6000000&seed=63&etag=c1&delay=5&chunk=16384&key=cli-int`;
    const stopped = await cli(['get', url, '-o', path.join(dir, 'out.bin'), '--json'], {
      interruptWhen: (out) => out.includes('downloadprogress'),
    });
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('nothing was left at the destination');
    await waitFor('the partial file to go', () => fs.readdirSync(dir).length === 0);

    const resumable = `${server.base}/file?size=6000000&seed=63&etag=c1&delay=5&chunk=16384&key=cli-resume`;
    const first = await cli(['get', resumable, '-o', path.join(dir, 'resumed.bin'), '--resume', '--json'], {
      interruptWhen: (out) => (out.match(/downloadprogress/g) ?? []).length > 3,
    });
    expect(first.code).toBe(130);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('resumed'))).toEqual([]);
    const again = await cli(['get', resumable, '-o', path.join(dir, 'resumed.bin'), '--resume', '--json']);
    expect(again.code).toBe(0);
    const ranged = server.seen.filter((r) => r.url.includes('key=cli-resume') && r.headers.range !== undefined);
    expect(ranged.length).toBeGreaterThan(0);
    expect(fileSha(path.join(dir, 'resumed.bin'))).toBe(sha256(makeBytes(6_000_000, 63)));
    expect(fs.readdirSync(dir).sort()).toEqual(['resumed.bin']);
  });

  it('put uploads a file and prints the status (and the body with -v)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'payload.bin');
    fs.writeFileSync(file, makeBytes(700_000, 64));
    const run = await cli(['put', `${server.base}/echo`, file, '-X', 'POST', '-H', 'X-Kind: test', '-v', '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('HTTP 200');
    const body = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
    expect(body).toMatchObject({ method: 'POST', length: 700_000, sha256: sha256(makeBytes(700_000, 64)) });
    expect(body.headers['x-kind']).toBe('test');
  });

  it('request prints the body to stdout byte for byte, with -i the head first', async () => {
    const bytes = await raw(process.execPath, [CLI, 'request', `${server.base}/file?size=100000&seed=65`]);
    expect(bytes.code).toBe(0);
    expect(sha256(bytes.stdout)).toBe(sha256(makeBytes(100_000, 65)));
    const withHead = await cli(['request', `${server.base}/echo`, '-X', 'PUT', '-d', 'hello', '-i']);
    expect(withHead.stdout).toMatch(/^HTTP 200\r\n/);
    expect(withHead.stdout).toContain('content-type: application/json');
    expect(JSON.parse(withHead.stdout.split('\r\n\r\n')[1])).toMatchObject({ method: 'PUT', text: 'hello' });
    const failing = await cli(['request', `${server.base}/status/500`, '-f']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toBe('status body 500');
  });

  it('--resume never writes through a link planted at its resume file, nor waits on a FIFO there', async () => {
    const dir = tempDir();
    const victim = path.join(dir, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    const url = `${server.base}/file?size=6000000&seed=64&etag=c2&delay=5&chunk=16384&key=cli-planted`;
    const output = path.join(dir, 'planted.bin');
    // The resume file's name is the CLI's own rule (lib/cli/get.ts resumeFileFor).
    const key = createHash('sha256')
      .update(`${url}\n${path.resolve(output)}`)
      .digest('hex')
      .slice(0, 24);
    const resumeFile = path.join(cache, 'urlsession', 'cli-resume', `${key}.resume`);
    fs.mkdirSync(path.dirname(resumeFile), { recursive: true, mode: 0o700 });
    fs.symlinkSync(victim, resumeFile);
    const stopped = await cli(['get', url, '-o', output, '--resume', '--json'], {
      interruptWhen: (out) => (out.match(/downloadprogress/g) ?? []).length > 3,
    });
    expect(stopped.code).toBe(130);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.lstatSync(resumeFile).isFile()).toBe(true); // the resume data replaced the link
    fs.rmSync(resumeFile);
    execFileSync('mkfifo', [resumeFile]);
    const again = await cli(['get', url, '-o', output, '--resume', '--json']);
    expect(again.code).toBe(0);
    expect(fileSha(output)).toBe(sha256(makeBytes(6_000_000, 64)));
  });

  it('a persistent --session keeps its work on Ctrl-C; tasks lists it, resume finishes it', async () => {
    const dir = tempDir();
    const url = `${server.base}/file?size=5000000&seed=66&etag=p1&delay=5&chunk=16384&key=cli-session`;
    const stopped = await cli(
      ['get', url, '-o', path.join(dir, 'kept.bin'), '--session', 'cli.test.session', '--json'],
      { interruptWhen: (out) => out.includes('downloadprogress') },
    );
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('urlsession resume --session cli.test.session');
    const listed = await cli(['tasks', '--session', 'cli.test.session', '--json']);
    expect(JSON.parse(listed.stdout).tasks).toMatchObject([{ taskIdentifier: 1, kind: 'download', url }]);
    const resumed = await cli(['resume', '--session', 'cli.test.session', '--json']);
    expect(resumed.code).toBe(0);
    const completed = events(resumed.stdout).find((e) => e.event === 'downloadcompleted');
    expect(fileSha(completed?.location)).toBe(sha256(makeBytes(5_000_000, 66)));
    const empty = await cli(['tasks', '--session', 'cli.test.session']);
    expect(empty.stdout).toContain('no unfinished tasks');
  });

  it('demo passes offline', async () => {
    const run = await cli(['demo', '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('all transfers verified');
  });

  it('draws bars on a terminal whose final frame shows 100%', async () => {
    const dir = tempDir();
    const command = `${process.execPath} ${CLI} get '${server.base}/file?size=2000000&seed=67' -o ${dir}/tty.bin`;
    // util-linux script(1) on Linux, BSD script(1) on macOS.
    const args =
      process.platform === 'darwin' ? ['-q', '/dev/null', 'sh', '-c', command] : ['-qfec', command, '/dev/null'];
    const run = await raw('script', args, { NO_COLOR: '1' });
    expect(run.code).toBe(0);
    const frames = run.stdout
      .toString()
      .split(/\r|\n/)
      .filter((line) => line.includes('tty.bin') || line.includes('%'));
    expect(frames.at(-1) ?? '').toContain('100%');
    expect(fileSha(path.join(dir, 'tty.bin'))).toBe(sha256(makeBytes(2_000_000, 67)));
  });
});
