// `urlsession request -d @file` with a file past 4 GiB: every byte reaches the server
// (fs.openAsBlob's Blob of such a file has its size modulo 2^32, nodejs/node#52585). The file is
// sparse (test/helpers/large-body.ts) and the server checks the body as it streams by.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LARGE_SIZE, MARKERS, measureLargeBody, writeSparseLargeBody } from '../helpers/large-body';
import { tempDir } from '../helpers/temp';
import { listenLocal } from '../helpers/listen';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    void measureLargeBody(req).then((measured) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ method: req.method, contentLength: req.headers['content-length'] ?? null, ...measured }),
      );
    });
  });
  base = await listenLocal(server);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, XDG_CACHE_HOME: tempDir('urlsession-cli-cache-') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 170_000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('urlsession request -d @file', () => {
  it('sends all of a file past 4 GiB, byte for byte', async () => {
    const file = path.join(tempDir('urlsession-large-body-'), 'large.bin');
    writeSparseLargeBody(file);
    const run = await cli(['request', `${base}/measure`, '-X', 'PUT', '-d', `@${file}`]);
    fs.rmSync(file, { force: true });
    expect(run.code, run.stderr).toBe(0);
    const reply = JSON.parse(run.stdout);
    expect(reply).toMatchObject({
      method: 'PUT',
      length: LARGE_SIZE,
      intact: true,
      markers: MARKERS.map((m) => m.text),
    });
    expect(reply.contentLength).toBe(String(LARGE_SIZE));
  }, 180_000);

  it('names what is not a file as a usage error', async () => {
    const dir = tempDir('urlsession-large-body-');
    for (const target of [path.join(dir, 'missing'), dir]) {
      const run = await cli(['request', `${base}/measure`, '-d', `@${target}`]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`not a file: ${target}`);
    }
  });
});
