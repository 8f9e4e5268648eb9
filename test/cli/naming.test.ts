// How `urlsession get` names files: -o, curl's -O (the URL's name) and -J (the server's), and
// the message when an existing file made the library save under a numbered name instead.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, startTaskServer, type TaskServer } from '../helpers/task-server';
import { runCli } from '../helpers/terminal';

let server: TaskServer;
let cache: string;
beforeAll(async () => {
  server = await startTaskServer();
  cache = tempDir('urlsession-cli-cache-');
});
afterAll(() => server.close());

const get = (args: string[]) => runCli(['get', ...args, '--json'], { XDG_CACHE_HOME: cache });
const fileSha = (file: string): string => sha256(fs.readFileSync(file));
/** /file/remote.bin answered with Content-Disposition: attachment; filename=server.bin. */
const named = (seed: number): string =>
  `${server.base}/file/remote.bin?size=200000&seed=${seed}&cd=attachment%3B%20filename%3Dserver.bin`;

describe('urlsession get: file names', () => {
  it('-O takes the name from the URL, -J (and a folder alone) from Content-Disposition, -OJ as curl does', async () => {
    for (const [flags, name, seed] of [
      [['-O'], 'remote.bin', 91],
      [['-J'], 'server.bin', 92],
      [['-O', '-J'], 'server.bin', 93],
      [[], 'server.bin', 94],
    ] as const) {
      const dir = tempDir('urlsession-cli-naming-');
      const run = await get([named(seed), ...flags, '-o', `${dir}/`]);
      expect(run.code, flags.join(' ')).toBe(0);
      expect(fs.readdirSync(dir), flags.join(' ')).toEqual([name]);
      expect(fileSha(path.join(dir, name))).toBe(sha256(makeBytes(200_000, seed)));
      expect(run.stderr).toContain(` -> ${path.join(dir, name)} (`);
    }
  });

  it('-O without -o saves into the current folder under the last segment of the URL path, as written', async () => {
    const dir = tempDir('urlsession-cli-naming-');
    const run = await runCli(
      ['get', `${server.base}/file/two%20words.bin?size=1000&seed=95`, '-O', '--json'],
      { XDG_CACHE_HOME: cache },
      dir,
    );
    expect(run.code).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['two%20words.bin']);
    expect(fileSha(path.join(dir, 'two%20words.bin'))).toBe(sha256(makeBytes(1000, 95)));
  });

  it('-O and -J refuse an -o that names a file, and -O a URL without a file name', async () => {
    const dir = tempDir('urlsession-cli-naming-');
    const file = await get([named(96), '-O', '-o', path.join(dir, 'x.bin')]);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain('-o must name a folder');
    expect(file.stderr).toContain('usage: urlsession get');
    const bare = await get([`${server.base}/`, '-O', '-o', `${dir}/`]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain(`-O: ${server.base}/ has no file name in its path`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('says so when an existing file made it save as name-1, and only then', async () => {
    const dir = tempDir('urlsession-cli-naming-');
    fs.writeFileSync(path.join(dir, 'server.bin'), 'mine');
    fs.writeFileSync(path.join(dir, 'remote.bin'), 'mine too');
    fs.writeFileSync(path.join(dir, 'chosen.bin'), 'and mine');

    const byServer = await get([named(97), '-o', `${dir}/`]);
    expect(byServer.code).toBe(0);
    expect(byServer.stderr).toContain('server.bin exists: saved as server-1.bin\n');
    expect(byServer.stderr).toContain(` -> ${path.join(dir, 'server-1.bin')} (`);

    const byUrl = await get([named(98), '-O', '-o', `${dir}/`]);
    expect(byUrl.stderr).toContain('remote.bin exists: saved as remote-1.bin\n');

    const byUser = await get([`${server.base}/file?size=1000&seed=99`, '-o', path.join(dir, 'chosen.bin')]);
    expect(byUser.stderr).toContain('chosen.bin exists: saved as chosen-1.bin\n');

    // Nothing was in the way: no such message.
    const fresh = await get([`${server.base}/file?size=1000&seed=100`, '-o', path.join(dir, 'new.bin')]);
    expect(fresh.code).toBe(0);
    expect(fresh.stderr).not.toContain('exists');

    expect(fs.readFileSync(path.join(dir, 'server.bin'), 'utf8')).toBe('mine');
    expect(fs.readFileSync(path.join(dir, 'remote.bin'), 'utf8')).toBe('mine too');
    expect(fs.readFileSync(path.join(dir, 'chosen.bin'), 'utf8')).toBe('and mine');
    expect(fileSha(path.join(dir, 'server-1.bin'))).toBe(sha256(makeBytes(200_000, 97)));
    expect(fileSha(path.join(dir, 'remote-1.bin'))).toBe(sha256(makeBytes(200_000, 98)));
    expect(fileSha(path.join(dir, 'chosen-1.bin'))).toBe(sha256(makeBytes(1000, 99)));
    expect(fs.readdirSync(dir).sort()).toEqual([
      'chosen-1.bin',
      'chosen.bin',
      'new.bin',
      'remote-1.bin',
      'remote.bin',
      'server-1.bin',
      'server.bin',
    ]);
  });
});
