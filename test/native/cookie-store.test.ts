// The cookie limits against libcurl's real cookie store where a test server cannot easily reach:
// cookies with odd paths and flags, cookies libcurl lists differently from how it holds them, odd
// jar lines, and the private-file rules of the jar (test/native/cookie_store_check.cc, built with
// ASan + UBSan: a memory error or leak fails it too). The end-to-end behaviour through sessions
// and servers is test/security/cookie-jar.test.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileNative, runNative } from '../helpers/compile-native';

describe.skipIf(process.platform !== 'linux')('the libcurl cookie store within its limits', () => {
  it('evicts odd cookies by name, rebuilds for unnameable ones, reads odd jars, keeps the jar private', async () => {
    const program = await compileNative(
      'cookie_store_check',
      ['test/native/cookie_store_check.cc', 'native/curl/curl_cookie_store.cc', 'native/core/cookie_limits.cc'],
      { libraries: ['-lcurl'], sanitize: true },
    );
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-cookie-store-'));
    try {
      const run = await runNative(program.binary, [scratch]);
      expect(run.stdout + run.stderr).toMatch(/checks: \d+, failed: 0/);
      expect(run.code).toBe(0);
    } finally {
      program.remove();
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }, 120_000);
});
