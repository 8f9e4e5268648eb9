// On Linux the addon links the system's libcurl.so.4. Where the loader cannot load it, requiring
// urlsession throws ERR_URLSESSION_LIBCURL_MISSING naming the package to install (lib/binding.ts),
// not the loader's dlopen error. Real loader failures, in child processes: no libcurl.so.4 at
// all (a mount namespace that hides it, test/ship/no-libcurl.ts), and a broken one found first.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { ROOT, run } from '../helpers/installer';
import { noLibcurl } from '../helpers/no-libcurl';

// Prints what require('urlsession') threw (or that it loaded) as one JSON line.
const PROBE = `try { require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))}); console.log(JSON.stringify({ loaded: true })); }
  catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;

function expectNamesThePackage(thrown: { name: string; code: string; message: string }, reason: RegExp): void {
  expect(thrown.name).toBe('Error');
  expect(thrown.code).toBe('ERR_URLSESSION_LIBCURL_MISSING');
  expect(thrown.message).toContain('libcurl.so.4');
  expect(thrown.message).toContain('apt-get install libcurl4');
  expect(thrown.message).toContain('dnf install libcurl');
  expect(thrown.message).toMatch(reason);
}

describe.runIf(process.platform === 'linux')('without a usable libcurl.so.4', () => {
  const hidden = typeof noLibcurl === 'string' ? ` [skipped: ${noLibcurl}]` : '';
  it.skipIf(typeof noLibcurl === 'string')(
    `where the system has none, require throws ERR_URLSESSION_LIBCURL_MISSING naming libcurl4 and libcurl${hidden}`,
    async () => {
      if (typeof noLibcurl === 'string') return;
      const [file, ...args] = noLibcurl.wrap([process.execPath, '-e', PROBE]);
      const result = await run(file, args, { cwd: ROOT, env: process.env });
      expect(result.code, result.stderr).toBe(0);
      expectNamesThePackage(JSON.parse(result.stdout), /libcurl\.so\.4: cannot open shared object file/);
    },
  );

  it("where a broken libcurl.so.4 comes first (LD_LIBRARY_PATH), the same error carries the loader's reason", async () => {
    const dir = tempDir('urlsession-badcurl-');
    fs.writeFileSync(path.join(dir, 'libcurl.so.4'), '', { flag: 'wx' });
    const result = await run(process.execPath, ['-e', PROBE], {
      cwd: ROOT,
      env: { ...process.env, LD_LIBRARY_PATH: dir },
    });
    expect(result.code, result.stderr).toBe(0);
    expectNamesThePackage(JSON.parse(result.stdout), new RegExp(`${dir}/libcurl\\.so\\.4: file too short`));
  });

  it('uncaught, the error shows the message and its code, not a dlopen stack', async () => {
    const dir = tempDir('urlsession-badcurl-');
    fs.writeFileSync(path.join(dir, 'libcurl.so.4'), '', { flag: 'wx' });
    const result = await run(
      process.execPath,
      ['-e', `require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))})`],
      {
        cwd: ROOT,
        env: { ...process.env, LD_LIBRARY_PATH: dir },
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("code: 'ERR_URLSESSION_LIBCURL_MISSING'");
    expect(result.stderr).toContain('apt-get install libcurl4');
    expect(result.stderr).not.toContain('ERR_DLOPEN_FAILED');
    expect(result.stderr).not.toMatch(/Module\._extensions\.\.node/);
  });
});
