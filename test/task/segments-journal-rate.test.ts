// A persistent session journals a segmented download's plan at most once per
// PLAN_JOURNAL_INTERVAL_MS (lib/persistence.ts), not at every progress event (issue 18): a
// download of a few seconds from a paced real server on 127.0.0.1 leaves a handful of plan
// records in the journal, and the file is byte-exact. That a kill still resumes every segment
// from its last journaled plan: test/task/segments-resume.test.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { PLAN_JOURNAL_INTERVAL_MS } from '../../lib/persistence';
import { liveSessions } from '../helpers/sessions';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';

const server = useTaskServer();
const live = liveSessions();
const MiB = 1 << 20;

/** Every journal line of the state folder. */
function journalText(dir: string): string {
  let text = '';
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /^journal\.(log|json)/.test(entry.name))
      text += fs.readFileSync(path.join(entry.parentPath, entry.name), 'utf8');
  }
  return text;
}

describe('the journal of a segmented download', () => {
  it('holds its plan at most once per interval, not once per progress event', async () => {
    const root = tempDir('urlsession-seg-journal-');
    const stateDirectory = path.join(root, 'state');
    const configuration = URLSession.createSessionConfiguration({
      identifier: 'segments-journal-rate',
      stateDirectory,
      downloadDirectory: path.join(root, 'downloads'),
      progressInterval: 50,
    });
    const s = URLSession.createSession({ configuration });
    live.push(s);
    const size = 8 * MiB;
    // About 0.8 MB/s per request: each of the 4 segments takes a few seconds.
    const url = `${server.base}/segfile?size=${size}&seed=23&key=journal&delay=40&chunk=32768`;
    let progressEvents = 0;
    const started = performance.now();
    const task = s.download(url, { segments: 4 });
    task.on('progress', () => progressEvents++);
    const result = await task.done;
    const elapsed = performance.now() - started;
    expect(sha256(fs.readFileSync(result.location))).toBe(sha256(makeBytes(size, 23)));
    const plans = [...journalText(stateDirectory).matchAll(/"segmentPlan":"([0-9,-]+)"/g)].map((m) => m[1]);
    // The first plan at once, then one per interval (plus one per change of shape: a split).
    expect(progressEvents).toBeGreaterThan(20);
    expect(plans.length).toBeGreaterThanOrEqual(2);
    expect(plans.length).toBeLessThanOrEqual(Math.ceil(elapsed / PLAN_JOURNAL_INTERVAL_MS) + 3);
    // Each journaled plan is at least as far as the one before: bytes are never un-written.
    const written = (plan: string): number =>
      plan.split(',').reduce((sum, segment) => {
        const [start, next] = segment.split('-').map(Number);
        return sum + next - start;
      }, 0);
    for (let i = 1; i < plans.length; i++) expect(written(plans[i])).toBeGreaterThanOrEqual(written(plans[i - 1]));
  }, 60_000);
});
