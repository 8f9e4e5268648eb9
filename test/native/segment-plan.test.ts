// The segment plan of segmented downloads (native/core/segment_plan.cc) compiled with its C++
// checks (test/native/segment_plan_test.cc, ASan + UBSan) and run; no addon, no server. The
// downloads themselves: test/task/segments*.test.ts.
import { describe, expect, it } from 'vitest';
import { runNativeCases } from '../helpers/compile-native';

const CASES = ['CountAndEven', 'AdvanceAndPrefix', 'Rebalance', 'CollapseKeepsFirst', 'Text'];

describe('segment plan', () => {
  it('splits, rebalances, collapses and round-trips its text, refusing inconsistent text', async () => {
    const run = await runNativeCases(
      'segment_plan_test',
      ['test/native/segment_plan_test.cc', 'native/core/segment_plan.cc'],
      { sanitize: true },
    );
    for (const name of CASES) expect(run.stdout).toContain(`PASS ${name}\n`);
    expect(run.code).toBe(0);
  }, 120_000);
});
