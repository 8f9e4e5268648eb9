// Same-named downloads into one folder: every one gets a name of its own, without a limit on how
// many, and without probing every taken name again for each new file (report.pdf, report-1.pdf,
// … report-10500.pdf). native/core/file_ops.cc compiled into a small program; no addon.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileNative, runNative, type NativeProgram } from '../helpers/compile-native';

let program: NativeProgram | undefined;
beforeAll(async () => {
  program = await compileNative('naming_check', ['test/native/naming_check.cc', 'native/core/file_ops.cc']);
}, 120_000);
afterAll(() => program?.remove());

describe('numbered names', () => {
  it('10,500 files wanting one name all land, each under its own number, in order', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-naming-'));
    try {
      const run = await runNative(program!.binary, [dir, '10500']);
      expect(run.code, run.stdout.slice(-200)).toBe(0);
      const names = run.stdout.trimEnd().split('\n');
      expect(names.length).toBe(10_500);
      expect(names[0]).toBe('report.pdf');
      expect(names[1]).toBe('report-1.pdf');
      expect(names[10_499]).toBe('report-10499.pdf');
      expect(new Set(names).size).toBe(10_500);
      expect(fs.readdirSync(dir).length).toBe(10_500);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
