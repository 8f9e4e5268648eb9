// Titanium's downloadcompleted.data through the real engine: a Blob of the downloaded file with
// its exact size and bytes past 4 GiB (fs.openAsBlob wraps at 2^32, nodejs/node#52585), typed
// with the response's Content-Type; a link or a FIFO planted at the location later is neither
// read through nor waited on. The test server generates the 4 GiB body on the fly
// (test/helpers/large-body.ts); the downloaded file is removed with its folder.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LARGE_SIZE, MARKERS, sendLargeBody } from '../helpers/large-body';
import { tempDir } from '../helpers/temp';
import * as URLSession from '../../lib/index';
import { listenLocal } from '../helpers/listen';

const LARGE_TYPE = 'application/x-urlsession-large';
const SMALL_TEXT = 'small body, sixty-four bytes or so: enough to slice and compare.';

let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/large') {
      res.writeHead(200, { 'content-type': LARGE_TYPE, 'content-length': LARGE_SIZE });
      return sendLargeBody(res);
    }
    if (url.pathname === '/small') {
      const headers: http.OutgoingHttpHeaders = { 'content-length': Buffer.byteLength(SMALL_TEXT) };
      const type = url.searchParams.get('type');
      if (type !== null) headers['content-type'] = type;
      res.writeHead(200, headers);
      return void res.end(SMALL_TEXT);
    }
    res.writeHead(404).end();
  });
  base = await listenLocal(server);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/**
 * Titanium's downloadTask into a new folder; resolves with the downloadcompleted event once the
 * task's sessioncompleted says it succeeded. `onCompleted` runs inside the listener.
 */
function tiDownload(
  url: string,
  onCompleted: (e: URLSession.DownloadCompletedEvent) => void = () => undefined,
): Promise<URLSession.DownloadCompletedEvent> {
  const downloadDirectory = tempDir('urlsession-blob-');
  const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration({ downloadDirectory }) });
  return new Promise((resolve, reject) => {
    let completed: URLSession.DownloadCompletedEvent | undefined;
    s.on('downloadcompleted', (e) => {
      completed = e;
      onCompleted(e);
    });
    s.on('sessioncompleted', (e) => {
      s.finishTasksAndInvalidate();
      if (e.success && completed !== undefined) resolve(completed);
      else reject(new Error(`download failed: ${e.errorCode} ${e.message}`));
    });
    s.downloadTask({ url });
  });
}

const text = async (blob: Blob): Promise<string> => Buffer.from(await blob.arrayBuffer()).toString('latin1');

/** Puts `make(tempName)`'s result in place of `location` with one rename, as someone else could. */
function plantAt(location: string, make: (tempName: string) => void): void {
  const temp = path.join(path.dirname(location), `.planted-${process.pid}`);
  make(temp);
  fs.renameSync(temp, location);
}

describe('downloadcompleted.data', () => {
  it('past 4 GiB: the exact size, the response type, and the right bytes across 2^31 and 2^32', async () => {
    const e = await tiDownload(`${base}/large`);
    try {
      expect(fs.statSync(e.location).size).toBe(LARGE_SIZE);
      const blob = e.data;
      expect(blob.size).toBe(LARGE_SIZE);
      expect(blob.type).toBe(LARGE_TYPE);
      for (const marker of MARKERS) {
        expect(await text(blob.slice(marker.offset, marker.offset + 8)), `at ${marker.offset}`).toBe(marker.text);
      }
      // Relative offsets, slices of slices, and zeros where the body has them.
      expect(await text(blob.slice(-8))).toBe('THE-END.');
      const past = blob.slice(2 ** 32);
      expect(past.size).toBe(LARGE_SIZE - 2 ** 32);
      expect(await text(past.slice(2 ** 20 + 3, 2 ** 20 + 11))).toBe('PAST4GiB');
      expect(await text(blob.slice(2 ** 32 + 100, 2 ** 32 + 104))).toBe('\0\0\0\0');
      expect(blob.slice(LARGE_SIZE - 3, LARGE_SIZE + 100).size).toBe(3);
      // stream() across the 4 GiB boundary: 1 MiB, the marker in its middle.
      const window = blob.slice(2 ** 32 - 2 ** 19 - 4, 2 ** 32 + 2 ** 19 - 4);
      const parts: Buffer[] = [];
      for await (const part of window.stream()) parts.push(Buffer.from(part));
      const streamed = Buffer.concat(parts);
      expect(streamed.length).toBe(2 ** 20);
      expect(streamed.subarray(2 ** 19, 2 ** 19 + 8).toString('latin1')).toBe('FOURGiB!');
      // More than one Buffer can hold is refused with a code, not truncated.
      await expect(blob.arrayBuffer()).rejects.toMatchObject({ code: 'ERR_BUFFER_TOO_LARGE' });
    } finally {
      fs.rmSync(e.location, { force: true });
    }
  }, 180_000);

  it("a small download's Blob: the response's Content-Type (as a Blob type: lower case), its bytes, also inside Node's own Blobs", async () => {
    const e = await tiDownload(`${base}/small?type=${encodeURIComponent('Text/Plain; Charset=UTF-8')}`);
    expect(e.data.type).toBe('text/plain; charset=utf-8');
    expect(e.data.size).toBe(SMALL_TEXT.length);
    expect(await e.data.text()).toBe(SMALL_TEXT);
    expect(await e.data.slice(6, 10).text()).toBe('body');
    expect(await new Blob([e.data]).text()).toBe(SMALL_TEXT);
    expect(await new Blob([e.data.slice(-8)]).text()).toBe('compare.');
    // No Content-Type: no type. A type with characters a Blob type cannot hold: no type either.
    expect((await tiDownload(`${base}/small`)).data.type).toBe('');
    expect((await tiDownload(`${base}/small?type=${encodeURIComponent('text/plain; name=\u00e9')}`)).data.type).toBe(
      '',
    );
  });

  it('a link planted at the location is not read through, even to a file of the same size and time', async () => {
    const elsewhere = path.join(tempDir('urlsession-blob-secret-'), 'secret');
    fs.writeFileSync(elsewhere, 'S'.repeat(SMALL_TEXT.length));
    const e = await tiDownload(`${base}/small`, (event) => {
      // Same size and mtime (to the nanosecond: touch -r) as the download, then a link in its place.
      execFileSync('touch', ['-r', event.location, elsewhere]);
      plantAt(event.location, (temp) => fs.symlinkSync(elsewhere, temp));
    });
    expect(fs.lstatSync(e.location).isSymbolicLink()).toBe(true);
    await expect(e.data.text()).rejects.toMatchObject({ name: 'NotReadableError' });
    await expect(e.data.slice(0, 4).arrayBuffer()).rejects.toMatchObject({ name: 'NotReadableError' });
  });

  it('a FIFO planted at the location neither blocks the JS thread nor is read', async () => {
    const e = await tiDownload(`${base}/small`, (event) =>
      plantAt(event.location, (temp) => execFileSync('mkfifo', [temp])),
    );
    expect(fs.lstatSync(e.location).isFIFO()).toBe(true);
    // A writer that shows up only after a while, as a hang's way out: a blocking open of the
    // FIFO would hold the JS thread until then.
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `
      const fs = require('fs');
      setTimeout(() => {
        const deadline = Date.now() + 10000;
        const tryOpen = () => {
          try { fs.closeSync(fs.openSync(${JSON.stringify(e.location)}, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK)); }
          catch { if (Date.now() < deadline) setTimeout(tryOpen, 20); }
        };
        tryOpen();
      }, 1500);`,
      ],
      { stdio: 'ignore' },
    );
    try {
      const before = performance.now();
      const reading = e.data.text();
      const blockedMs = performance.now() - before;
      await expect(reading).rejects.toMatchObject({ name: 'NotReadableError' });
      expect(blockedMs).toBeLessThan(1000);
    } finally {
      writer.kill();
    }
  });
});
