// The shared rules of segmented downloads (native/core/segment_rules.cc) compiled with their C++
// checks (test/native/segment_rules_test.cc, ASan + UBSan) and run; no addon, no server. The
// downloads that apply them: test/task/segments*.test.ts and the Apple model's cases.
import { describe, expect, it } from 'vitest';
import { compileNative, runNative } from '../helpers/compile-native';

describe('segment rules', () => {
  it('decide segmenting, fitting Range answers and how each request end goes on', async () => {
    const program = await compileNative(
      'segment_rules_test',
      [
        'test/native/segment_rules_test.cc',
        'native/core/segment_rules.cc',
        'native/core/segment_plan.cc',
        'native/core/headers.cc',
      ],
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
