// Set-Cookie response headers stay one entry per header line, in Node's convention
// (headers['set-cookie'] is a string[]): a cookie's Expires date holds a comma, so lines joined
// with ', ' could not be told apart again. A real loopback server sends two such cookies; the
// promise API's results, its 'response' event, an HTTPError and the CLI's `request -i` all show
// both intact, other repeated headers are still joined, and the session's cookie jar took both.
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { liveSessions } from '../helpers/sessions';
import { tempDir } from '../helpers/temp';
import { listenLocal } from '../helpers/listen';

const COOKIES = [
  'session=abc123; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/; HttpOnly',
  'theme=dark; Expires=Thu, 22 Oct 2037 07:28:00 GMT; Path=/',
];
const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

let server: http.Server;
let base: string;
const sessions = liveSessions();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/echo-cookie') {
      res.end(req.headers.cookie ?? '');
      return;
    }
    // Two header lines each: Node writes an array value as one line per entry.
    res.setHeader('Set-Cookie', COOKIES);
    res.setHeader('X-Repeat', ['one', 'two']);
    res.statusCode = req.url === '/missing' ? 404 : 200;
    res.end('body');
  });
  base = await listenLocal(server);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function session(): URLSession.Session {
  const s = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({ downloadDirectory: tempDir('urlsession-cookie-') }),
  });
  sessions.push(s);
  return s;
}

describe('Set-Cookie', () => {
  it('request(): headers["set-cookie"] is both lines, as sent; other repeats are joined; the jar took both', async () => {
    const s = session();
    const task = s.request(`${base}/cookies`);
    const heads: URLSession.TaskResponse[] = [];
    task.on('response', (response) => heads.push(response));
    const result = await task.done;
    expect(result.statusCode).toBe(200);
    expect(result.headers['set-cookie']).toEqual(COOKIES);
    expect(result.headers['x-repeat']).toBe('one, two');
    expect(heads.map((head) => head.headers['set-cookie'])).toEqual([COOKIES]);
    const echoed = await s.request(`${base}/echo-cookie`).done;
    expect(echoed.body.toString().split('; ').sort()).toEqual(['session=abc123', 'theme=dark']);
  });

  it('download() and an HTTPError carry the same array', async () => {
    const s = session();
    const download = await s.download(`${base}/cookies`).done;
    expect(download.headers['set-cookie']).toEqual(COOKIES);
    const failure = await s.request(`${base}/missing`).done.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(URLSession.HTTPError);
    expect((failure as URLSession.HTTPError).statusCode).toBe(404);
    expect((failure as URLSession.HTTPError).headers['set-cookie']).toEqual(COOKIES);
  });

  it("the CLI's request -i prints one Set-Cookie line per cookie", async () => {
    const cache = tempDir('urlsession-cookie-cli-');
    const child = spawn(process.execPath, [CLI, 'request', `${base}/cookies`, '-i'], {
      env: { ...process.env, XDG_CACHE_HOME: cache },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const lines = stdout.split('\r\n');
    expect(lines.filter((line) => line.startsWith('set-cookie: '))).toEqual(
      COOKIES.map((cookie) => `set-cookie: ${cookie}`),
    );
    expect(lines).toContain('x-repeat: one, two');
  });
});
