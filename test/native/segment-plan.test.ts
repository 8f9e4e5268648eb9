// The segment plan of segmented downloads (native/core/segment_plan.cc) compiled with its C++
// checks (test/native/segment_plan_test.cc, ASan + UBSan) and run; no addon, no server. The
// downloads themselves: test/task/segments*.test.ts.
import { describe, expect, it } from 'vitest';
import { compileNative, runNative } from '../helpers/compile-native';

describe('segment plan', () => {
  it('splits, rebalances, collapses and round-trips its text, refusing inconsistent text', async () => {
    const program = await compileNative(
      'segment_plan_test',
      ['test/native/segment_plan_test.cc', 'native/core/segment_plan.cc'],
      { sanitize: true },
    );
    try {
      const run = await runNative(program.binary);
      expect(run.stdout + run.stderr).toMatch(/checks: \d+, failed: 0/);
      expect(run.code).toBe(0);
    } finally {
      program.remove();
    }
  }, 120_000);
});
