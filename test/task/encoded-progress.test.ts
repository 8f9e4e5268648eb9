// Progress of content-encoded bodies (issue 15, item 8). The engines store and count decoded
// bytes while a coded body's Content-Length counts coded ones, so that length is no expected
// size: totalBytesExpectedToWrite is 0 (unknown) for a coded body, as NSURLSession reports
// NSURLResponseUnknownLength for gzip responses, and progress never passes 100%. Identity bodies
// keep their Content-Length. Against our own Node server, which sends gzip with the coded length.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSessions } from '../helpers/sessions';
import * as URLSession from '../../lib/index';
import { waitFor } from '../helpers/wait-for';
import { tempDir } from '../helpers/temp';
import { listenLocal, closeServer } from '../helpers/listen';

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Compressible text: gzip makes it many times smaller. */
const TEXT = Buffer.from('progress counts decoded bytes; the coded length is not the file size\n'.repeat(40_000));
const GZIP = gzipSync(TEXT);

let server: http.Server;
let base: string;
let release: (() => void) | undefined;

// /gzip: the gzip body with its (coded) Content-Length. /plain: the identity body.
// /gzip-stalled: the head and half the coded body, the rest when the test calls release().
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/plain') return void res.writeHead(200, { 'content-length': TEXT.length }).end(TEXT);
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': GZIP.length, 'content-type': 'text/plain' });
    if (req.url !== '/gzip-stalled') return void res.end(GZIP);
    const half = Math.floor(GZIP.length / 2);
    res.write(GZIP.subarray(0, half));
    release = () => res.end(GZIP.subarray(half));
  });
  base = await listenLocal(server);
  expect(GZIP.length * 10).toBeLessThan(TEXT.length);
});
afterAll(() => closeServer(server));

const sessions = liveSessions();

function session(): URLSession.Session {
  const s = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({
      downloadDirectory: tempDir('urlsession-coded-progress-'),
      progressInterval: 1,
    }),
  });
  sessions.push(s);
  return s;
}

type Progress = Pick<
  URLSession.DownloadProgressEvent,
  'bytesWritten' | 'totalBytesWritten' | 'totalBytesExpectedToWrite'
>;

/** A Titanium downloadTask: its progress events and its file. */
async function titaniumDownload(url: string): Promise<{ progress: Progress[]; location: string; errorCode: number }> {
  const s = session();
  const progress: Progress[] = [];
  let location = '';
  let errorCode = -1;
  s.on('downloadprogress', (e) =>
    progress.push({
      bytesWritten: e.bytesWritten,
      totalBytesWritten: e.totalBytesWritten,
      totalBytesExpectedToWrite: e.totalBytesExpectedToWrite,
    }),
  );
  s.on('downloadcompleted', (e) => (location = e.location));
  s.on('sessioncompleted', (e) => (errorCode = e.errorCode));
  s.downloadTask({ url });
  await waitFor('sessioncompleted', () => errorCode !== -1);
  return { progress, location, errorCode };
}

describe('progress of a gzip body', () => {
  it('downloadTask: totalBytesExpectedToWrite is unknown (0), never the coded length the decoded bytes pass', async () => {
    const run = await titaniumDownload(`${base}/gzip`);
    expect(run.errorCode).toBe(0);
    expect(sha(fs.readFileSync(run.location))).toBe(sha(TEXT));
    expect(run.progress.length).toBeGreaterThan(0);
    for (const p of run.progress) {
      if (p.totalBytesExpectedToWrite > 0)
        expect(p.totalBytesWritten, JSON.stringify(p)).toBeLessThanOrEqual(p.totalBytesExpectedToWrite);
    }
    expect(run.progress.map((p) => p.totalBytesExpectedToWrite)).toEqual(run.progress.map(() => 0));
    expect(run.progress.at(-1)?.totalBytesWritten).toBe(TEXT.length);
    expect(run.progress.reduce((sum, p) => sum + p.bytesWritten, 0)).toBe(TEXT.length);
  });

  it("download(): the task's progress says the same", async () => {
    const task = session().download(`${base}/gzip`);
    const seen: URLSession.TaskProgress[] = [];
    task.on('progress', (p: URLSession.TaskProgress) => seen.push(p));
    const result = await task.done;
    expect(sha(fs.readFileSync(result.location))).toBe(sha(TEXT));
    for (const p of seen) if (p.expected > 0) expect(p.transferred, JSON.stringify(p)).toBeLessThanOrEqual(p.expected);
    expect(seen.every((p) => p.expected === 0)).toBe(true);
    expect(seen.at(-1)?.transferred).toBe(TEXT.length);
  });

  it('getAllTasks() of a data task with a gzip body shows its size as unknown, not the coded length', async () => {
    const s = session();
    const task = s.request(`${base}/gzip-stalled`);
    let head = false;
    task.on('response', () => (head = true));
    await waitFor('the response head', () => head);
    const [info] = await s.getAllTasks();
    expect(info.bytesExpected).toBe(0);
    release?.();
    const result = await task.done;
    expect(sha(result.body)).toBe(sha(TEXT));
  });

  it('an identity body keeps its Content-Length as the expected size', async () => {
    const run = await titaniumDownload(`${base}/plain`);
    expect(run.errorCode).toBe(0);
    expect(run.progress.every((p) => p.totalBytesExpectedToWrite === TEXT.length)).toBe(true);
    expect(run.progress.at(-1)?.totalBytesWritten).toBe(TEXT.length);
  });
});
