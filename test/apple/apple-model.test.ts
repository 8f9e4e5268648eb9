// The macOS engine's decisions, on Linux: compiles test/native/apple_model_test.cc with the
// portable model (native/apple/*.cc, no Foundation) and the core it uses, runs it, and expects
// every scripted NSURLSession callback sequence to pass. Each case names the defect it guards.
// Built with AddressSanitizer and UBSan: the model never runs inside the Linux addon, so this is
// where its memory errors and leaks would show.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileNative, runNative, type NativeProgram } from '../helpers/compile-native';

const SOURCES = [
  'test/native/apple_model_test.cc',
  'native/apple/apple_session_model.cc',
  'native/apple/apple_segments.cc',
  'native/apple/background_files.cc',
  'native/apple/apple_configuration.cc',
  'native/apple/cookie_jar_file.cc',
  'native/apple/task_tag.cc',
  'native/apple/spki_der.cc',
  'native/core/download_writer.cc',
  'native/core/segment_plan.cc',
  'native/core/segment_rules.cc',
  'native/core/file_ops.cc',
  'native/core/error_codes.cc',
  'native/core/headers.cc',
  'native/core/content_disposition.cc',
  'native/core/digest_file.cc',
  'native/core/speed_shares.cc',
  'native/core/body_stream.cc',
  'native/apple/apple_body_stream.cc',
  // DownloadWriter's digest: OpenSSL on Linux (CommonCrypto's twin is macOS-only).
  process.platform === 'darwin' ? 'native/apple/digest_commoncrypto.cc' : 'native/curl/digest_openssl.cc',
];

const CASES = [
  'metrics_after_completion',
  'metrics_twice',
  'completion_of_unknown_task',
  'finished_download_then_error',
  'cancel_racing_finish',
  'recovered_after_new_task',
  'suspended_recovered_task',
  'malformed_task_tag',
  'invalidation_overtakes_reset',
  'suspend_holds_nest',
  'failure_before_start_keeps_partial',
  'default_download_folder_renamed',
  'shutdown_keeps_journaled_partial',
  'coded_body_size_unknown',
  'priority_planned',
  'credentials_and_cache_planned',
  'resume_asks_identity',
  'refused_resume_restarts',
  'temporary_body_lifetime',
  'trust_checked_per_session',
  'background_redirect_policy',
  'manual_redirects_declined',
  'redirect_statuses',
  'held_progress_flushed_by_timer',
  'background_stream',
  'background_resume_data',
  'speed_limit_suspends_until_the_pacer_allows',
  'session_speed_limit_shared_by_running_tasks',
  'speed_limit_changed_while_held',
  'speed_limit_paces_uploads',
  'background_sessions_not_paced',
  'segments_planned_and_written',
  'segment_answered_200_collapses',
  'segment_error_before_response',
  'first_completes_before_ranges',
  'cut_segment_retried_from_offset',
  'first_task_cut_continues_as_range',
  'first_task_cut_budget',
  'resumed_first_request_cut_continues',
  'segments_rebalanced',
  'segments_resumed_from_plan',
  'segments_follow_the_user',
  'segments_not_paced_nor_background',
  'background_shutdown_keeps_placing',
  'configuration_plan',
  'cookie_jar_file',
  'spki_der',
  'streamed_body_second_stream_refused',
  'streamed_body_data_flow',
  'streamed_body_cancel_mid_stream',
  'streamed_body_failure',
  'streamed_body_background_refused',
];

describe('Apple engine model (scripted NSURLSession sequences)', () => {
  let program: NativeProgram;
  let results = new Map<string, string>();
  let output = '';
  let exitCode: number | null = null;

  beforeAll(async () => {
    program = await compileNative('apple_model_test', SOURCES, {
      libraries: process.platform === 'darwin' ? [] : ['-lcrypto'],
      sanitize: true,
    });
    const run = await runNative(program.binary);
    output = run.stdout + run.stderr;
    exitCode = run.code;
    results = new Map(
      run.stdout
        .split('\n')
        .map((line) => /^(PASS|FAIL) (\w+)(.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[2], m[1] + m[3]]),
    );
  }, 240_000); // a hang guard: compiling with sanitizers takes ~30 s on 2 busy cores

  afterAll(() => program?.remove());

  it('runs exactly the cases listed here, to a clean exit (no sanitizer report, no leak)', () => {
    expect([...results.keys()].sort()).toEqual([...CASES].sort());
    expect(exitCode, output).toBe(0);
    expect(output).not.toMatch(/AddressSanitizer|LeakSanitizer|runtime error/);
  });

  for (const name of CASES) {
    it(name, () => {
      expect(results.get(name), output).toBe('PASS');
    });
  }
});
