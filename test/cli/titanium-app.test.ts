// The seed's example app (examples/titanium-app/app.js, the flow of tidev/ti.urlsession's
// ios/example/app.js) runs in Node under its Ti shim against a loopback server: the button's
// download, killed with SIGKILL mid-transfer, is finished by the next launch (the shim fires
// backgroundtransfer, the app re-creates its session, the download resumes with a Range
// request), then a background fetch downloads the other image. Assertions are on what the app
// itself keeps: the files in its data folder (sha256), its Ti.App.Properties file, its list view;
// and that the download folder keeps nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peekJournal } from '../../lib/journal';
import { waitFor } from '../helpers/wait-for';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256 } from '../helpers/task-server';

const RUN = path.join(__dirname, '..', '..', 'examples', 'titanium-app', 'run.js');
const SESSION = 'com.test.test2';
const BUTTON = 'Download Image (url)';

// The two images of app.js, by path (the shim keeps path and query when it sends a request to
// TI_APP_SERVER). The button's image holds its first full response after HOLD bytes until the
// client goes away, so the kill lands mid-transfer however fast the machine is.
interface Image {
  path: string;
  body: Buffer;
  etag: string;
  hold?: number;
}
const HOLD = 256 * 1024;
const clickImage: Image = {
  path: '/s/x9pud64xo7s1pb6/IMG_20130715_181727.jpg',
  body: makeBytes(1_500_000, 161),
  etag: '"click-1"',
  hold: HOLD,
};
const fetchImage: Image = {
  path: '/exposure/content/photo/photo/1879122_uploadsmember258527yourshot-258527-1879122jpg_z5n3nv2g7piofy6fkaewns5su56efp7ahougetfp4dbeloye3ueq_2880x1922.jpg',
  body: makeBytes(900_000, 162),
  etag: '"fetch-1"',
};

interface Served {
  path: string;
  range?: string;
  ifRange?: string;
  status: number;
}

/** Serves the images with ETag, Range/If-Range, 16 KiB every 2 ms. 127.0.0.1 only. */
async function startImageServer(
  images: Image[],
): Promise<{ origin: string; served: Served[]; close(): Promise<void> }> {
  const served: Served[] = [];
  const fullResponses = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const image = images.find((i) => i.path === new URL(req.url ?? '/', 'http://x').pathname);
    if (image === undefined) return void res.writeHead(404).end();
    const size = image.body.length;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'] as string | undefined;
    const partial = range !== null && (ifRange === undefined || ifRange === image.etag) && Number(range[1]) < size;
    const start = partial ? Number(range[1]) : 0;
    const headers = {
      'content-type': 'image/jpeg',
      etag: image.etag,
      'accept-ranges': 'bytes',
      'content-length': size - start,
    };
    if (partial) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${size - 1}/${size}` });
    else res.writeHead(200, headers);
    served.push({ path: image.path, range: req.headers.range, ifRange, status: res.statusCode });
    const full = partial ? 0 : (fullResponses.get(image.path) ?? 0) + 1;
    if (!partial) fullResponses.set(image.path, full);
    const stopAt = full === 1 && image.hold !== undefined ? image.hold : size;
    let offset = start;
    const pump = (): void => {
      if (res.destroyed) return;
      if (offset >= stopAt) {
        if (stopAt === size) res.end();
        return; // held: the socket stays open, silent, until the client is gone
      }
      const end = Math.min(stopAt, offset + 16 * 1024);
      res.write(image.body.subarray(offset, end));
      offset = end;
      setTimeout(pump, 2);
    };
    pump();
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

interface Line {
  type: string;
  [key: string]: any;
}

/** One launch of the app: its JSON lines, a way to send commands, its exit. */
class Launch {
  readonly lines: Line[] = [];
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  readonly #child: ChildProcess;
  #stderr = '';
  /** The process ended and its output was read to the end. */
  #closed = false;

  constructor(env: NodeJS.ProcessEnv) {
    this.#child = spawn(process.execPath, [RUN], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let buffered = '';
    this.#child.stdout?.on('data', (data: Buffer) => {
      buffered += data.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        this.lines.push(JSON.parse(buffered.slice(0, nl)) as Line);
        buffered = buffered.slice(nl + 1);
      }
    });
    this.#child.stderr?.on('data', (data: Buffer) => (this.#stderr += data.toString()));
    this.#child.on('close', () => (this.#closed = true));
    this.exited = new Promise((resolve) => this.#child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  send(command: string): void {
    this.#child.stdin?.write(`${command}\n`);
  }

  /** The first line that matches, waiting for it; throws with the app's stderr when it exits first. */
  async line(what: string, match: (line: Line) => boolean): Promise<Line> {
    await waitFor(what, () => this.lines.some(match) || this.#closed, 30_000).catch((error: Error) => {
      const errors = this.lines.filter((l) => l.type === 'error').map((l) => `${l.where}: ${l.message}`);
      throw new Error(`${error.message}; the app's errors: ${JSON.stringify(errors)}`);
    });
    const found = this.lines.find(match);
    if (found === undefined) throw new Error(`the app exited before ${what}; stderr: ${this.#stderr.slice(-600)}`);
    return found;
  }

  /** The app's own Ti.API log lines that start with `prefix`. */
  logs(prefix: string): Line[] {
    return this.lines.filter((l) => l.type === 'log' && String(l.message).startsWith(prefix));
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

let server: Awaited<ReturnType<typeof startImageServer>>;
beforeAll(async () => {
  server = await startImageServer([clickImage, fetchImage]);
});
afterAll(() => server.close());

describe('examples/titanium-app', () => {
  it('click-to-download survives kill -9: the relaunch fires backgroundtransfer, resumes with Range and completes; then backgroundfetch downloads the other image', async () => {
    const root = tempDir('urlsession-tiapp-');
    const env = {
      ...process.env,
      TI_APP_ROOT: root,
      TI_APP_SERVER: server.origin,
      XDG_CACHE_HOME: path.join(root, 'cache'),
    };
    const data = path.join(root, 'data');
    const stateFolder = path.join(root, 'cache', 'urlsession', SESSION);
    const properties = (): any => JSON.parse(fs.readFileSync(path.join(data, 'ti.app.properties.json'), 'utf8'));
    const pngs = (): string[] =>
      fs
        .readdirSync(data)
        .filter((n) => /^downloadedfile\d+\.png$/.test(n))
        .sort();
    const fileSha = (name: string): string => sha256(fs.readFileSync(path.join(data, name)));

    // Launch 1: nothing unfinished; the click starts the download; SIGKILL once bytes arrived.
    const first = new Launch(env);
    expect((await first.line('launch', (l) => l.type === 'launch')).unfinished).toEqual([]);
    first.send(`click ${BUTTON}`);
    expect((await first.line('click', (l) => l.type === 'command')).ok).toBe(true);
    await first.line(
      'downloadprogress of task 1',
      (l) => l.type === 'log' && String(l.message).startsWith('downloadprogress: task 1 '),
    );
    first.kill();
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(first.logs('downloadcompleted')).toEqual([]);
    expect(properties()).toEqual({ pendingDL: [1] });
    expect(pngs()).toEqual([]);
    expect(peekJournal(stateFolder)?.tasks.map((t) => t.url)).toEqual([`${server.origin}${clickImage.path}`]);

    // Launch 2: the shim finds the unfinished task and fires backgroundtransfer before anything else.
    const second = new Launch(env);
    expect((await second.line('launch', (l) => l.type === 'launch')).unfinished).toEqual([SESSION]);
    const transfer = await second.line('backgroundtransfer', (l) => l.type === 'fire');
    expect(transfer).toMatchObject({ event: 'backgroundtransfer', payload: { sessionId: SESSION } });
    // The last thing the app's sessioneventscompleted listener does (lines can arrive in pieces).
    await second.line(
      'the notification of sessioneventscompleted',
      (l) => l.type === 'call' && l.name === 'Ti.App.iOS.scheduleLocalNotification',
    );
    expect(second.lines.findIndex((l) => l.type === 'fire')).toBeLessThan(
      second.lines.findIndex((l) => l.type === 'log' && l.message !== undefined && /^download/.test(l.message)),
    );
    expect(second.logs('sessioncompleted').map((l) => l.message)).toEqual([
      expect.stringMatching(/^sessioncompleted: task 1 success true /),
    ]);
    // The app ended the relaunch's background handler once nothing was pending.
    expect(
      second.lines.filter((l) => l.type === 'call' && l.name === 'Ti.App.iOS.endBackgroundHandler').map((l) => l.args),
    ).toEqual([[transfer.payload.handlerId]]);

    // The server saw the first full request, then one Range request from where the kill left it.
    const clicks = server.served.filter((s) => s.path === clickImage.path);
    expect(clicks.map((s) => s.status)).toEqual([200, 206]);
    const resumedFrom = Number(/^bytes=(\d+)-$/.exec(clicks[1].range ?? '')?.[1]);
    expect(resumedFrom).toBeGreaterThan(0);
    expect(resumedFrom).toBeLessThanOrEqual(HOLD);
    expect(clicks[1].ifRange).toBe(clickImage.etag);

    // What the app kept: the image in its data folder, nothing pending.
    expect(pngs()).toHaveLength(1);
    expect(fileSha(pngs()[0])).toBe(sha256(clickImage.body));
    expect(properties()).toEqual({ pendingDL: [] });

    // The background fetch: the app adds task 2 to its list, ends the fetch's handler, and the download completes.
    second.send('backgroundfetch');
    const fetch = await second.line('backgroundfetch', (l) => l.type === 'fire' && l.event === 'backgroundfetch');
    await waitFor(
      'the second image in the data folder',
      () => pngs().length === 2 && properties().pendingDL.length === 0,
      30_000,
    );
    await second.line(
      'sessioncompleted of task 2',
      (l) => l.type === 'log' && String(l.message).startsWith('sessioncompleted: task 2 success true '),
    );
    const fetched = pngs().find((n) => fileSha(n) !== sha256(clickImage.body)) as string;
    expect(fileSha(fetched)).toBe(sha256(fetchImage.body));
    expect(
      second.lines
        .filter((l) => l.type === 'call' && l.name === 'Ti.App.iOS.endBackgroundHandler')
        .map((l) => l.args[0]),
    ).toContain(fetch.payload.handlerId);
    expect(server.served.filter((s) => s.path === fetchImage.path).map((s) => s.status)).toEqual([200]);
    expect(properties()).toEqual({ pendingDL: [] });
    expect(peekJournal(stateFolder)?.tasks).toEqual([]);

    // The app's list view shows both files and nothing pending.
    second.send('ui');
    const ui = await second.line('ui', (l) => l.type === 'ui');
    const sections = ui.windows[0].children[1].children[0].sections as Array<{
      headerTitle: string;
      items: Array<{ properties: { title: string } }>;
    }>;
    expect(sections.map((s) => [s.headerTitle, s.items.map((i) => i.properties.title)])).toEqual([
      ['PENDING DOWNLOADS', []],
      ['DOWNLOADED FILES', pngs()],
    ]);
    second.send('quit');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(second.lines.filter((l) => l.type === 'error')).toEqual([]);
    // The downloads themselves are gone from the download folder (TMPDIR), as iOS removes them
    // once downloadcompleted was handled: the app kept its copies in its data folder.
    expect(fs.readdirSync(path.join(root, 'tmp', `urlsession-${process.getuid?.()}`))).toEqual([]);
  });
});
