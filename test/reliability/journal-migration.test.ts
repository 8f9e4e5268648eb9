// The journal.json of 0.2 and earlier (one JSON document) is read once and replaced by the log:
// nothing it held is lost, and no journal.json stays behind, even when the previous process died
// after writing the log but before removing the old file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { Journal, peekJournal } from '../../lib/journal';

const legacy = {
  version: 1,
  nextTaskIdentifier: 8,
  tasks: [
    {
      taskIdentifier: 5,
      kind: 'download',
      url: 'http://127.0.0.1:1/a',
      method: 'GET',
      headers: ['X-A', '1'],
      taskDescription: 'five',
      validator: '"v"',
      expectedBytes: 10,
    },
  ],
  undelivered: [
    { taskIdentifier: 7, kind: 'data', errorCode: 0, message: '', statusCode: 200, responseBase64: 'aGk=' },
  ],
};

describe('journal.json of earlier versions', () => {
  it('is migrated into journal.log with every task, completion and the numbering, then removed', () => {
    const dir = tempDir('urlsession-migrate-');
    fs.writeFileSync(path.join(dir, 'journal.json'), JSON.stringify(legacy), { mode: 0o600 });
    const journal = Journal.open(dir);
    expect(journal.state).toEqual({ nextTaskIdentifier: 8, tasks: legacy.tasks, undelivered: legacy.undelivered });
    expect(fs.existsSync(path.join(dir, 'journal.json'))).toBe(false);
    expect(peekJournal(dir)).toEqual(journal.state);
    journal.close(false);
    const reopened = Journal.open(dir);
    expect(reopened.state.nextTaskIdentifier).toBe(8);
    reopened.close(false);
  });

  it('a journal.json left beside a readable log (the kill fell between) is removed, and the log wins', () => {
    const dir = tempDir('urlsession-migrate-');
    fs.writeFileSync(path.join(dir, 'journal.json'), JSON.stringify(legacy), { mode: 0o600 });
    Journal.open(dir).close(false);
    fs.writeFileSync(path.join(dir, 'journal.json'), JSON.stringify({ ...legacy, nextTaskIdentifier: 99, tasks: [] }), {
      mode: 0o600,
    });
    const journal = Journal.open(dir);
    expect(journal.state.nextTaskIdentifier).toBe(8);
    expect(journal.state.tasks.map((t) => t.taskIdentifier)).toEqual([5]);
    expect(fs.existsSync(path.join(dir, 'journal.json'))).toBe(false);
    journal.close(false);
  });
});
