// Resume data is not trusted: a crafted blob cannot make download({ resumeData }) or
// discardResumeData() truncate, move or delete any file, and a genuine blob's partial file is
// used only while it is still the file that download wrote. A segmented download's plan is
// signed with the rest, and trusted only while it parses and the file on disk fits it; else the
// blob resumes from its gapless prefix in one request, as a blob of release 0.2 (no plan) does.
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { liveSessions } from '../helpers/sessions';
import * as URLSession from '../../lib/index';
import { decodeResumeData } from '../../lib/resume-data';
import { userCacheRoot } from '../../lib/user-folders';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';
import { waitFor } from '../helpers/wait-for';

const server = useTaskServer();
const sessions = liveSessions();

function temp(): string {
  return tempDir('urlsession-resume-attack-');
}

function session(downloadDirectory: string): URLSession.Session {
  const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration({ downloadDirectory }) });
  sessions.push(s);
  return s;
}

function victim(): { file: string; intact: () => void } {
  const file = path.join(temp(), 'secret.txt');
  fs.writeFileSync(file, 'top secret\n', { mode: 0o600 });
  return { file, intact: () => expect(fs.readFileSync(file, 'utf8')).toBe('top secret\n') };
}

const fileSha = (file: string): string => sha256(fs.readFileSync(file));
const SLOW = (seed: number): string =>
  `${server.base}/file?size=2000000&seed=${seed}&etag=v${seed}&delay=5&chunk=16384`;

/** A genuine blob: a download cancelled after some bytes. */
async function genuineResumeData(s: URLSession.Session, seed: number): Promise<Buffer> {
  const task = s.download(SLOW(seed));
  await new Promise<void>((resolve) => task.on('progress', (p) => p.transferred > 100_000 && resolve()));
  const data = (await task.cancelByProducingResumeData()) as Buffer;
  await task.done.catch(() => undefined);
  expect(data).toBeInstanceOf(Buffer);
  return data;
}

const SEGMENTED_SIZE = 8 * (1 << 20) + 5;
const SEGMENTED = (seed: number): string =>
  `${server.base}/segfile?size=${SEGMENTED_SIZE}&seed=${seed}&key=sec${seed}&delay=5&chunk=32768`;

/** A genuine blob of a segmented download (segments: 4) cancelled while every segment is under way. */
async function genuineSegmentedData(s: URLSession.Session, seed: number): Promise<Buffer> {
  const task = s.download(SEGMENTED(seed), { segments: 4 });
  const quarter = Math.floor(SEGMENTED_SIZE / 4);
  const keys = ['get', quarter, 2 * quarter, 3 * quarter].map((start) => `sec${seed}:${start}`);
  await waitFor('every segment to be under way', () => keys.every((k) => (server.written.get(k) ?? 0) >= 256 * 1024));
  const data = (await task.cancelByProducingResumeData()) as Buffer;
  await task.done.catch(() => undefined);
  expect(decodeResumeData(data).segmentPlan.split(',')).toHaveLength(4);
  return data;
}

/** A blob's fields re-signed with this user's key: what only urlsession itself could have made. */
function signed(fields: Record<string, unknown>, version: number, order: string[]): Buffer {
  const key = fs.readFileSync(path.join(userCacheRoot(), 'resume-data.key'));
  const mac = createHmac('sha256', key)
    .update(JSON.stringify(order.map((name) => fields[name])))
    .digest('base64');
  return Buffer.from(JSON.stringify({ format: 'urlsession-resume', version, ...fields, mac }));
}
const PLANLESS_ORDER = [
  'url',
  'partialPath',
  'partialIdentity',
  'offset',
  'validator',
  'destinationDirectory',
  'destinationFileName',
  'nameFromResponse',
  'overwrite',
];

/** Resumes `data` to the end; the Range requests the server saw for it. */
async function resumeRanges(s: URLSession.Session, data: Buffer, seed: number): Promise<string[]> {
  const before = server.seen.length;
  const result = await s.download({ resumeData: data }).done;
  expect(fileSha(result.location)).toBe(sha256(makeBytes(SEGMENTED_SIZE, seed)));
  return server.seen
    .slice(before)
    .filter((r) => r.url.includes(`key=sec${seed}&`))
    .map((r) => String(r.headers.range));
}

describe('resume data from outside', () => {
  it('a crafted blob naming any file is refused with a coded error and touches nothing', () => {
    const dir = temp();
    const target = victim();
    const s = session(dir);
    const state = {
      url: `${server.base}/file?size=100`,
      partialPath: target.file,
      offset: 0,
      validator: '"x"',
      destinationDirectory: dir,
      destinationFileName: 'moved-here',
      nameFromResponse: false,
      overwrite: true,
    };
    // The format of release 0.1.0, and the current one with a made-up signature or none.
    const forged = [
      Buffer.from(JSON.stringify({ format: 'urlsession-resume', version: 1, ...state })),
      Buffer.from(
        JSON.stringify({
          format: 'urlsession-resume',
          version: 2,
          ...state,
          partialIdentity: '1:2:3',
          mac: Buffer.alloc(32).toString('base64'),
        }),
      ),
      Buffer.from(JSON.stringify({ format: 'urlsession-resume', version: 2, ...state, partialIdentity: '1:2:3' })),
    ];
    for (const blob of forged) {
      expect(() => s.download({ resumeData: blob })).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_URLSESSION_INVALID_RESUME_DATA' }),
      );
      expect(() => URLSession.discardResumeData(blob)).toThrow(
        expect.objectContaining({ code: 'ERR_URLSESSION_INVALID_RESUME_DATA' }),
      );
    }
    target.intact();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a genuine blob whose partial file was swapped for a link is refused; the link and its target stay', async () => {
    const dir = temp();
    const target = victim();
    const s = session(dir);
    const data = await genuineResumeData(s, 31);
    const partial = fs.readdirSync(dir).find((name) => name.endsWith('.partial')) as string;
    fs.rmSync(path.join(dir, partial));
    fs.symlinkSync(target.file, path.join(dir, partial));
    expect(() => s.download({ resumeData: data })).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_INVALID_RESUME_DATA' }),
    );
    URLSession.discardResumeData(data); // not ours any more: left alone
    expect(fs.lstatSync(path.join(dir, partial)).isSymbolicLink()).toBe(true);
    target.intact();
  });

  it('a genuine blob whose partial file was replaced by another file of the same name is refused', async () => {
    const dir = temp();
    const s = session(dir);
    const data = await genuineResumeData(s, 32);
    const partial = path.join(dir, fs.readdirSync(dir).find((name) => name.endsWith('.partial')) as string);
    fs.rmSync(partial);
    fs.writeFileSync(partial, 'somebody else', { mode: 0o600 });
    expect(() => s.download({ resumeData: data })).toThrow(
      expect.objectContaining({ code: 'ERR_URLSESSION_INVALID_RESUME_DATA' }),
    );
    URLSession.discardResumeData(data);
    expect(fs.readFileSync(partial, 'utf8')).toBe('somebody else');
  });

  it('a genuine blob whose partial file is gone starts the download over; a sound one resumes and discard removes it', async () => {
    const dir = temp();
    const s = session(dir);
    const gone = await genuineResumeData(s, 33);
    for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name));
    const restarted = await s.download({ resumeData: gone }).done;
    expect(fileSha(restarted.location)).toBe(sha256(makeBytes(2_000_000, 33)));

    const sound = await genuineResumeData(s, 34);
    const kept = decodeResumeData(sound).offset;
    const written: number[] = [];
    s.on('downloadprogress', (e) => written.push(e.bytesWritten));
    const resumed = await s.download({ resumeData: sound }).done;
    expect(resumed.statusCode).toBe(206);
    // bytesWritten counts what arrived, not the kept bytes (issue 15, item 9).
    expect(written.reduce((a, b) => a + b, 0)).toBe(2_000_000 - kept);
    expect(fileSha(resumed.location)).toBe(sha256(makeBytes(2_000_000, 34)));

    const unused = await genuineResumeData(s, 35);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.partial'))).toHaveLength(1);
    URLSession.discardResumeData(unused);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });

  it("a segmented blob's plan is signed: an altered plan is refused and the file is left as it was", async () => {
    const dir = temp();
    const s = session(dir);
    const data = await genuineSegmentedData(s, 41);
    const partial = path.join(dir, fs.readdirSync(dir).find((name) => name.endsWith('.partial')) as string);
    const before = fileSha(partial);
    const fields = JSON.parse(data.toString()) as { segmentPlan: string };
    // Every segment claimed nearly written: bytes never fetched would be kept as if they were.
    fields.segmentPlan = fields.segmentPlan.replace(/(\d+)-(\d+)-(\d+)/g, (_, a, b, c) => `${a}-${Number(c) - 1}-${c}`);
    const altered = Buffer.from(JSON.stringify(fields));
    expect(() => s.download({ resumeData: altered })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_URLSESSION_INVALID_RESUME_DATA' }),
    );
    expect(fileSha(partial)).toBe(before);
    URLSession.discardResumeData(data);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a genuine segmented blob whose file no longer fits its plan resumes from its gapless prefix in one request', async () => {
    const dir = temp();
    const s = session(dir);
    const data = await genuineSegmentedData(s, 42);
    const { offset, partialPath } = decodeResumeData(data);
    // Cut to the prefix: the later segments' bytes the plan names are gone.
    fs.truncateSync(partialPath, offset);
    expect(await resumeRanges(s, data, 42)).toEqual([`bytes=${offset}-`]);
  });

  it('a signed plan that does not parse is dropped, and a planless blob of the earlier version still resumes', async () => {
    const dir = temp();
    const s = session(dir);
    for (const [seed, plan] of [
      [43, '0-9-3'],
      [44, undefined],
    ] as const) {
      const genuine = JSON.parse((await genuineSegmentedData(s, seed)).toString()) as Record<string, unknown>;
      for (const name of ['format', 'version', 'mac']) delete genuine[name];
      const data =
        plan === undefined
          ? signed({ ...genuine, segmentPlan: undefined }, 2, PLANLESS_ORDER)
          : signed({ ...genuine, segmentPlan: plan }, 3, [...PLANLESS_ORDER, 'segmentPlan']);
      expect(decodeResumeData(data).segmentPlan).toBe('');
      expect(await resumeRanges(s, data, seed)).toEqual([`bytes=${String(genuine.offset)}-`]);
    }
  });
});
