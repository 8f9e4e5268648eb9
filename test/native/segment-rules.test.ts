// The shared rules of segmented downloads (native/core/segment_rules.cc) compiled with their C++
// checks (test/native/segment_rules_test.cc, ASan + UBSan) and run; no addon, no server. The
// downloads that apply them: test/task/segments*.test.ts and the Apple model's cases.
import { describe, expect, it } from 'vitest';
import { runNativeCases } from '../helpers/compile-native';

const CASES = ['Segmenting', 'RangeAnswers', 'RequestHeaders', 'RangeRequestEnds', 'OwnRequestEnds'];

describe('segment rules', () => {
  it('decide segmenting, fitting Range answers and how each request end goes on', async () => {
    const run = await runNativeCases(
      'segment_rules_test',
      [
        'test/native/segment_rules_test.cc',
        'native/core/segment_rules.cc',
        'native/core/segment_plan.cc',
        'native/core/headers.cc',
      ],
      { sanitize: true },
    );
    for (const name of CASES) expect(run.stdout).toContain(`PASS ${name}\n`);
    expect(run.code).toBe(0);
  }, 120_000);
});
