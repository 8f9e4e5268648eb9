// Speed limits' arithmetic (native/core/speed_shares.* and speed_pacer.h), which both engines use:
// compiles test/native/speed_shares_test.cc with it and expects every case to pass. Each case
// names the rule it guards (water-filling of a session budget, the pacer's rate, changes while
// running, bounded idle credit).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileNative, runNative, type NativeProgram } from '../helpers/compile-native';

const CASES = [
  'no_session_limit_keeps_own_limits',
  'session_limit_split_equally',
  'water_filling_gives_unused_share_to_others',
  'share_never_means_unlimited',
  'empty_list',
  'pacer_holds_the_rate',
  'pacer_unlimited_is_always_ready',
  'pacer_lower_limit_takes_effect_at_once',
  'pacer_higher_limit_shortens_the_wait',
  'pacer_idle_credit_is_bounded',
];

let program: NativeProgram | undefined;
let output = '';
beforeAll(async () => {
  program = await compileNative(
    'speed_shares_test',
    ['test/native/speed_shares_test.cc', 'native/core/speed_shares.cc'],
    {
      sanitize: true,
    },
  );
  const run = await runNative(program.binary);
  output = run.stdout;
}, 120_000);
afterAll(() => program?.remove());

describe('speed shares and pacing', () => {
  for (const name of CASES) {
    it(name, () => {
      expect(output).toContain(`PASS ${name}\n`);
    });
  }
});
