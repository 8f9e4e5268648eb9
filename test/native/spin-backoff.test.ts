// The curl engine's poll window gives way under CPU contention (native/curl/epoll_multi_driver.cc):
// compiles test/native/spin_backoff_test.cc with the real driver and libcurl and expects every case
// to pass. Linux only (the curl engine's driver).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileNative, runNative, type NativeProgram } from '../helpers/compile-native';

const CASES = ['preempted_window_backs_off', 'back_off_ends'];

describe.runIf(process.platform === 'linux')('poll window under CPU contention', () => {
  let program: NativeProgram | undefined;
  let output = '';
  beforeAll(async () => {
    program = await compileNative(
      'spin_backoff_test',
      ['test/native/spin_backoff_test.cc', 'native/curl/epoll_multi_driver.cc'],
      { libraries: ['-lcurl', '-pthread'] },
    );
    const run = await runNative(program.binary);
    output = run.stdout + run.stderr;
  }, 120_000);
  afterAll(() => program?.remove());

  for (const name of CASES) {
    it(name, () => {
      expect(output).toContain(`PASS ${name}\n`);
    });
  }
});
