// A persistent session's streamed upload across a SIGKILL: the body lived only in the dead
// process (the caller's stream), so the journal marks it as a body in memory and the next process
// reports the task failed (coded, exactly once) instead of sending it again without its body.
// Each life is a child process (the script below) against a real loopback server that reads the
// upload and never answers.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, listenLocal } from '../helpers/listen';
import { tempDir } from '../helpers/temp';
import { waitFor } from '../helpers/wait-for';

// One life: opens the session (re-attaching what the journal holds), starts a streamed upload
// when given a url, prints one JSON line per event, and invalidates once nothing is left.
const LIFE = `
const path = require('node:path');
const URLSession = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'index.js'))});
const options = JSON.parse(process.argv[1]);
const print = (event) => require('node:fs').writeSync(1, JSON.stringify(event) + '\\n');
const session = URLSession.createSession({
  configuration: URLSession.createSessionConfiguration({
    identifier: options.identifier,
    stateDirectory: options.stateDirectory,
  }),
});
session.on('sessioncompleted', (e) =>
  print({ type: 'sessioncompleted', id: e.taskIdentifier, success: e.success, errorCode: e.errorCode }),
);
session.on('sessioneventscompleted', () => session.finishTasksAndInvalidate());
if (options.url) {
  // An endless stream of bytes, made as the engine pulls it.
  const chunk = new Uint8Array(64 * 1024).fill(7);
  const stream = new ReadableStream({ pull: (controller) => controller.enqueue(chunk) }, { highWaterMark: 0 });
  print({ type: 'started', id: session.uploadTask({ url: options.url, data: stream, method: 'PUT' }) });
}
`;

interface Line {
  type: string;
  [key: string]: unknown;
}

interface Life {
  lines: Line[];
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Still running at its deadline (then killed): a life that should have ended by itself hung. */
  hung: boolean;
}

let received = 0;
let requests = 0;
const server = http.createServer((req) => {
  requests++;
  req.on('data', (chunk: Buffer) => (received += chunk.length));
});
let base = '';
beforeAll(async () => {
  base = await listenLocal(server);
});
afterAll(() => closeServer(server));

/**
 * Runs one life; `kill` ends it with SIGKILL once it is true. A life still running after
 * `deadlineMs` is killed and marked hung (a bound on a failure, not a wait for success).
 */
function live(options: object, kill?: () => boolean, deadlineMs = 15_000): Promise<Life> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', LIFE, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: Line[] = [];
    let buffered = '';
    let hung = false;
    const deadline = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.stdout.on('data', (data: Buffer) => {
      buffered += data.toString();
      for (let newline; (newline = buffered.indexOf('\n')) >= 0;) {
        lines.push(JSON.parse(buffered.slice(0, newline)) as Line);
        buffered = buffered.slice(newline + 1);
      }
    });
    if (kill !== undefined) {
      waitFor('the moment to kill the child', kill, 30_000).then(
        () => child.kill('SIGKILL'),
        () => child.kill('SIGKILL'),
      );
    }
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      resolve({ lines, code, signal, hung });
    });
  });
}

describe('a streamed upload of a persistent session, killed mid-upload', () => {
  it('the next process reports it failed (-3001) exactly once; nothing is sent again', async () => {
    const stateDirectory = path.join(tempDir('urlsession-streamed-crash-'), 'state');
    const options = { identifier: 'streamed.crash', stateDirectory };

    const first = await live({ ...options, url: `${base}/upload` }, () => received > 512 * 1024);
    expect(first.signal).toBe('SIGKILL');
    expect(first.hung).toBe(false);
    expect(first.lines).toEqual([{ type: 'started', id: 1 }]);
    expect(requests).toBe(1);
    // Nothing of the caller's stream was written to the state folder.
    expect(fs.readdirSync(stateDirectory).filter((name) => name.startsWith('body-'))).toEqual([]);

    const second = await live(options);
    expect(second.lines).toEqual([{ type: 'sessioncompleted', id: 1, success: false, errorCode: -3001 }]);

    expect(second).toMatchObject({ code: 0, hung: false });

    const third = await live(options);
    expect(third).toMatchObject({ code: 0, hung: false, lines: [] });
    // The server never saw the upload again (with or without its body).
    expect(requests).toBe(1);
  });
});
