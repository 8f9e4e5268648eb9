// A TransferError carries the error behind it when there is one on the JS side: an upload whose
// Blob body cannot be read (a file changed after fs.openAsBlob) rejects with -3001 and the
// read's NotReadableError as `cause`, and nothing reaches the server.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { liveSessions } from '../helpers/sessions';
import { tempDir } from '../helpers/temp';
import { listenLocal } from '../helpers/listen';

let server: http.Server;
let base: string;
const seen: string[] = [];
const sessions = liveSessions();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  base = await listenLocal(server);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function session(): URLSession.Session {
  const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
  sessions.push(s);
  return s;
}

describe('TransferError.cause', () => {
  it('an unreadable Blob body: -3001 with the read error as cause, and no request sent', async () => {
    const file = path.join(tempDir('urlsession-cause-'), 'body.bin');
    fs.writeFileSync(file, 'first version');
    const blob = await fs.openAsBlob(file);
    // Another size and time: Node's file-backed Blob refuses to read the changed file.
    fs.writeFileSync(file, 'a second, longer version of the file');
    const error = await session()
      .upload(`${base}/upload`, blob)
      .done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(URLSession.TransferError);
    const failure = error as URLSession.TransferError;
    expect(failure.errorCode).toBe(URLSession.NSURLError.CannotOpenFile);
    expect(failure.code).toBe(URLSession.ErrorCodes.TRANSFER_FAILED);
    expect(failure.cause).toBeInstanceOf(DOMException);
    expect((failure.cause as DOMException).name).toBe('NotReadableError');
    expect(seen).toEqual([]);
  });
});
