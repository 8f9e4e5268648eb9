// Fuzzing with a fixed budget. The C++ parsers (Content-Disposition, URL file names, the Apple
// engine's task tag) run under libFuzzer with ASan + UBSan over the kept corpus; the TypeScript
// parsers (resume data, the journal, header validation, integrity metadata) get seeded random
// inputs in-process.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { parseIntegrity } from '../../lib/integrity';
import { Journal } from '../../lib/journal';
import { applyRecord, emptyState, encodeRecord, LOG_HEADER, replayLog, toPlainState } from '../../lib/journal-records';
import { StateDirectoryError } from '../../lib/state-directory';
import { decodeResumeData, encodeResumeData } from '../../lib/resume-data';
import { validateHeaders } from '../../lib/validate';

const ITERATIONS = 20_000;

/** Random text biased toward the characters parsers care about. */
function nasty(length: number): string {
  const alphabet = [
    '"',
    "'",
    ';',
    '=',
    '%',
    '\\',
    '/',
    '.',
    ' ',
    '\r',
    '\n',
    '\0',
    ':',
    '{',
    '}',
    ',',
    'a',
    'Z',
    '9',
    'é',
    '\u2028',
  ];
  let out = '';
  for (let i = 0; i < length; i++)
    out +=
      Math.random() < 0.7
        ? alphabet[Math.floor(Math.random() * alphabet.length)]
        : String.fromCharCode(Math.floor(Math.random() * 0x250));
  return out;
}

function expectCoded(call: () => unknown): void {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    expect(String((error as { code?: string }).code)).toMatch(/^ERR_URLSESSION_/);
  }
}

describe('fuzzing', () => {
  // Apple's clang ships no libFuzzer runtime: the targets run on Linux (and in .ci/run).
  it.skipIf(process.platform !== 'linux')(
    'libFuzzer targets run clean over their corpus (10 s budget each)',
    async () => {
      const script = path.join(__dirname, 'run-fuzzers.sh');
      const fresh = tempDir('urlsession-fuzz-');
      const child = spawn('bash', [script, '10'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, FUZZ_NEW_INPUTS: fresh },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise((resolve) => child.on('exit', resolve));
      expect(code, out).toBe(0);
      const runs = [...out.matchAll(/number_of_executed_units: (\d+)/g)].map((m) => Number(m[1]));
      expect(runs.length).toBe(3);
      for (const count of runs) expect(count).toBeGreaterThan(10_000);
      expect(out).not.toMatch(/ERROR: AddressSanitizer|runtime error|deadly signal/);
    },
    120_000,
  );

  it('resume data: random bytes are refused with a coded error; mutated real data never crashes', () => {
    const real = encodeResumeData({
      url: 'http://h/x',
      partialPath: '/tmp/.x.0123456789abcdef.partial',
      partialIdentity: '1:2:3',
      offset: 5,
      validator: '"e"',
      destinationDirectory: '/tmp',
      destinationFileName: 'x',
      segmentPlan: '',
      nameFromResponse: false,
      overwrite: false,
    });
    for (let i = 0; i < ITERATIONS; i++) {
      expectCoded(() => decodeResumeData(randomBytes(Math.floor(Math.random() * 64))));
      const mutated = Buffer.from(real);
      mutated[Math.floor(Math.random() * mutated.length)] = Math.floor(Math.random() * 256);
      expectCoded(() => decodeResumeData(mutated));
    }
  });

  it('header validation: accepts only clean tokens and values, otherwise a coded TypeError', () => {
    for (let i = 0; i < ITERATIONS; i++) {
      const headers = { [nasty(1 + Math.floor(Math.random() * 6))]: nasty(Math.floor(Math.random() * 10)) };
      let flat: string[] = [];
      try {
        flat = validateHeaders(headers, 'fuzz');
      } catch (error) {
        expect((error as { code: string }).code).toBe('ERR_URLSESSION_INVALID_HEADER');
        continue;
      }
      expect(flat[0]).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
      expect(flat[1]).not.toMatch(/[\r\n\0]/);
    }
  });

  it('integrity metadata: random strings are refused with a coded error or parsed consistently', () => {
    for (let i = 0; i < ITERATIONS; i++) {
      const text =
        Math.random() < 0.5
          ? nasty(Math.floor(Math.random() * 80))
          : `sha256-${randomBytes(32).toString('base64')}${nasty(2)}`;
      try {
        const parsed = parseIntegrity(text);
        if (parsed !== undefined) for (const digest of parsed.digests) expect([32, 48, 64]).toContain(digest.length);
      } catch (error) {
        expect((error as { code: string }).code).toBe('ERR_URLSESSION_INVALID_ARGUMENT');
      }
    }
  });

  it('the journal: any damaged content is set aside and the session directory still opens', () => {
    const dir = tempDir('urlsession-fuzz-journal-');
    const valid = JSON.stringify({
      version: 1,
      nextTaskIdentifier: 3,
      tasks: [
        { taskIdentifier: 1, kind: 'download', url: 'http://h/', method: 'GET', headers: [], taskDescription: '' },
      ],
      undelivered: [],
    });
    for (let i = 0; i < 500; i++) {
      const bytes = Buffer.from(valid);
      for (let k = 0; k < 3; k++) bytes[Math.floor(Math.random() * bytes.length)] = Math.floor(Math.random() * 256);
      fs.writeFileSync(path.join(dir, 'journal.json'), Math.random() < 0.3 ? randomBytes(40) : bytes);
      let journal: Journal;
      try {
        journal = Journal.open(dir);
      } catch (error) {
        expect(error).toBeInstanceOf(StateDirectoryError);
        throw error;
      }
      expect(Array.isArray(journal.state.tasks)).toBe(true);
      expect(Number.isFinite(journal.state.nextTaskIdentifier)).toBe(true);
      journal.close(true);
      for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
    }
  });

  it('the log: cut at any byte, every record before the cut is kept and the torn one dropped; damaged bytes never keep it from opening', () => {
    const dir = tempDir('urlsession-fuzz-log-');
    const records = [encodeRecord(LOG_HEADER), encodeRecord({ next: 1 })];
    for (let id = 1; id <= 6; id++) {
      records.push(
        encodeRecord({
          task: {
            taskIdentifier: id,
            kind: 'download',
            url: `http://h/${id}`,
            method: 'GET',
            headers: [],
            taskDescription: 'é\u2028"',
          },
        }),
      );
      if (id % 2 === 0)
        records.push(
          encodeRecord({
            done: {
              taskIdentifier: id,
              kind: 'download',
              errorCode: 0,
              message: '',
              statusCode: 200,
              location: `/d/${id}`,
            },
          }),
        );
    }
    const log = Buffer.concat(records);
    const file = path.join(dir, 'journal.log');
    for (let cut = 0; cut <= log.length; cut++) {
      fs.writeFileSync(file, log.subarray(0, cut));
      const journal = Journal.open(dir);
      // What the whole lines before the cut say, replayed one by one.
      const expected = emptyState();
      let end = 0;
      for (const [i, record] of records.entries()) {
        if (end + record.length > cut) break;
        end += record.length;
        if (i > 0) applyRecord(expected, JSON.parse(record.toString()));
      }
      if (cut < records[0].length) {
        // Not even the header: the file is set aside, the session starts clean.
        expect(journal.state.tasks).toEqual([]);
      } else {
        expect(journal.state).toEqual(toPlainState(expected));
        // The torn tail is gone from the file too (restated whole): it says the same, and the next
        // record starts on a line of its own.
        const onDisk = replayLog(fs.readFileSync(file));
        expect(onDisk.tornTail).toBe(false);
        expect(toPlainState(onDisk.state)).toEqual(toPlainState(expected));
      }
      journal.close(false);
      for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
    }
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(log);
      for (let k = 0; k < 3; k++) bytes[Math.floor(Math.random() * bytes.length)] = Math.floor(Math.random() * 256);
      fs.writeFileSync(file, bytes);
      const journal = Journal.open(dir);
      expect(journal.state.tasks.length).toBeLessThanOrEqual(6);
      journal.close(true);
      for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
    }
  });
});
