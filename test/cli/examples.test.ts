// Every example in examples/ runs against a loopback server, does what it says, and leaves no
// file behind in a folder it chose itself (the default download folder, its own temp folders).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir as newTempDir } from '../helpers/temp';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const server = useTaskServer();

function run(
  file: string,
  args: string[],
  killWhen?: (out: string) => boolean,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(EXAMPLES, file), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (killWhen?.(stdout) && child.exitCode === null) child.kill('SIGKILL');
    });
    child.stderr.resume();
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout });
    });
  });
}

const fileSha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const temp = (): string => newTempDir('urlsession-example-');

describe('examples', () => {
  it('node-download.mjs prints the location of a correct file', async () => {
    const dir = temp() + path.sep;
    const result = await run('node-download.mjs', [`${server.base}/file?size=400000&seed=71`, dir]);
    expect(result.code).toBe(0);
    expect(fileSha(result.stdout.trim())).toBe(sha256(makeBytes(400_000, 71)));
  });

  it('ti-compat.js reports the Titanium events in order through the module-wide emitter, and removes its file', async () => {
    // Its own <tmpdir>, so that its default download folder is this test's to look into.
    const tmp = temp();
    const result = await run('ti-compat.js', [`${server.base}/file?size=300000&seed=72`], undefined, { TMPDIR: tmp });
    expect(result.code).toBe(0);
    const kinds = result.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[0]);
    expect(kinds[0]).toBe('started');
    expect(kinds.slice(-3)).toEqual(['downloadcompleted', 'sessioncompleted', 'sessioneventscompleted']);
    expect(kinds.filter((k) => k === 'downloadprogress').length).toBeGreaterThan(0);
    expect(result.stdout).toContain('(300000 bytes, HTTP 200), removed');
    const location = /^downloadcompleted task 1: (.+) \(300000 bytes/m.exec(result.stdout)?.[1] as string;
    expect(path.dirname(location)).toBe(path.join(tmp, `urlsession-${process.getuid?.()}`));
    expect(fs.readdirSync(path.dirname(location))).toEqual([]);
  });

  it('upload.mjs uploads a file and prints the response', async () => {
    const file = path.join(temp(), 'u.bin');
    fs.writeFileSync(file, makeBytes(250_000, 73));
    const result = await run('upload.mjs', [`${server.base}/echo`, file, 'POST']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      method: 'POST',
      length: 250_000,
      sha256: sha256(makeBytes(250_000, 73)),
    });
  });

  it('resume-after-crash survives kill -9 and finishes with the same task identifier', async () => {
    const state = temp();
    const downloads = temp();
    const url = `${server.base}/file?size=3000000&seed=74&etag=x1&delay=5&chunk=16384&key=example-crash`;
    const first = await run('resume-after-crash/download.js', [url, state, downloads], (out) =>
      /progress task 1: [1-9]\d{5,}/.test(out),
    );
    expect(first.signal).toBe('SIGKILL');
    const second = await run('resume-after-crash/download.js', [url, state, downloads]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('re-attached task 1');
    const location = /completed task 1: (.+)/.exec(second.stdout)?.[1] as string;
    expect(fileSha(location)).toBe(sha256(makeBytes(3_000_000, 74)));
    expect(server.seen.filter((r) => r.url.includes('key=example-crash') && r.headers.range !== undefined).length).toBe(
      1,
    );
  });

  it('resume-after-crash keeps the file in a folder it was given, and removes it from its default one', async () => {
    const tmp = temp();
    const result = await run('resume-after-crash/download.js', [`${server.base}/file?size=200000&seed=75`], undefined, {
      TMPDIR: tmp,
    });
    expect(result.code).toBe(0);
    const location = /completed task 1: (.+)/.exec(result.stdout)?.[1] as string;
    expect(path.dirname(location)).toBe(path.join(tmp, 'urlsession-example-downloads'));
    expect(result.stdout).toContain(`removed ${location}`);
    expect(fs.readdirSync(path.dirname(location))).toEqual([]);
  });
});
