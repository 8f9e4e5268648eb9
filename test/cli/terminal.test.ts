// What a person at a terminal sees from `urlsession get` and `demo`, under a real pseudo-terminal
// (script(1)): every message (failure reasons, saved paths) reaches the screen, JSON goes to a
// piped stdout, Ctrl-C reads "interrupted", bars of same-named files are told apart, the spinner
// of an unknown size stops, and the demo speaks one unit system.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, startTaskServer, type TaskServer } from '../helpers/task-server';
import { cliCommand, onTerminal } from '../helpers/terminal';
import { listenLocal } from '../helpers/listen';

let server: TaskServer;
/** Answers /chunked?size=N with N bytes of seed 81 and no Content-Length: a size the client cannot know. */
let chunked: http.Server;
let chunkedBase: string;
let cache: string;

beforeAll(async () => {
  server = await startTaskServer();
  chunked = http.createServer((req, res) => {
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size'));
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const body = makeBytes(size, 81);
    let offset = 0;
    const pump = (): void => {
      if (offset >= size) return void res.end();
      res.write(body.subarray(offset, (offset += 32 * 1024)));
      setTimeout(pump, 20);
    };
    pump();
  });
  chunkedBase = await listenLocal(chunked);
  cache = tempDir('urlsession-cli-cache-');
});
afterAll(async () => {
  await server.close();
  await new Promise((resolve) => chunked.close(resolve));
});

const env = (): NodeJS.ProcessEnv => ({ XDG_CACHE_HOME: cache });
const fileSha = (file: string): string => sha256(fs.readFileSync(file));
/** The rows of the final screen that are bars (a mark, then a label). */
const barRows = (screen: string[]): string[] =>
  screen.filter((row) => /^[ ✓✗⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \S/.test(row) && !row.includes(' -> '));
/** The row of the bar whose label starts with `label`. */
const barRow = (screen: string[], label: string): string =>
  barRows(screen).find((row) => row.slice(2).startsWith(label)) ?? '';

describe('urlsession get on a terminal', () => {
  it('shows the saved path of a download and the reason of a failure', async () => {
    const dir = tempDir('urlsession-cli-tty-');
    const saved = await onTerminal(
      cliCommand([
        'get',
        `${server.base}/file?size=400000&seed=82&cd=attachment%3B%20filename%3Dsaved.bin`,
        '-o',
        `${dir}/`,
      ]),
      { env: env() },
    );
    expect(saved.code).toBe(0);
    expect(saved.screen.filter((row) => row.includes(` -> ${path.join(dir, 'saved.bin')} (`))).toHaveLength(1);
    expect(barRow(saved.screen, 'file')).toMatch(/^✓ file .* 100% {2}400\.0 KB\/400\.0 KB/);
    expect(fileSha(path.join(dir, 'saved.bin'))).toBe(sha256(makeBytes(400_000, 82)));

    const refused = await onTerminal(cliCommand(['get', 'http://127.0.0.1:1/nothing', '-o', `${dir}/`]), {
      env: env(),
    });
    expect(refused.code).toBe(1);
    const reason = refused.screen.filter((row) => row.startsWith('urlsession: '));
    // The URL once, the cause, the code once.
    expect(reason).toEqual([
      expect.stringMatching(
        /^urlsession: http:\/\/127\.0\.0\.1:1\/nothing: Could not connect to the server\..* \(error -1004\)$/,
      ),
    ]);
    expect(reason[0].split('-1004').length - 1).toBe(1);
    expect(reason[0].split('127.0.0.1:1/nothing').length - 1).toBe(1);
    expect(barRows(refused.screen)).toEqual([expect.stringMatching(/^✗ nothing {2}failed/)]);
  });

  it('writes JSON events to a piped stdout while stderr is the terminal', async () => {
    const dir = tempDir('urlsession-cli-tty-');
    const out = path.join(dir, 'events.jsonl');
    const url = `${server.base}/file?size=300000&seed=83&cd=attachment%3B%20filename%3Dpiped.bin`;
    const run = await onTerminal(`${cliCommand(['get', url, '-o', `${dir}/`])} | cat > '${out}'`, { env: env() });
    expect(run.code).toBe(0);
    const events = fs
      .readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, any>);
    expect(events.filter((e) => e.event === 'downloadcompleted').map((e) => e.location)).toEqual([
      path.join(dir, 'piped.bin'),
    ]);
    expect(events.at(-1)?.event).toBe('sessioneventscompleted');
    // No bars drawn for a pipe; the saved path still reaches the person at the terminal.
    expect(run.lines.some((line) => /\d% /.test(line))).toBe(false);
    expect(run.screen).toEqual([expect.stringContaining(` -> ${path.join(dir, 'piped.bin')} (`)]);
    expect(fileSha(path.join(dir, 'piped.bin'))).toBe(sha256(makeBytes(300_000, 83)));
  });

  it('says "interrupted", not "failed", after Ctrl-C', async () => {
    const dir = tempDir('urlsession-cli-tty-');
    const url = `${server.base}/file?size=8000000&seed=84&delay=5&chunk=16384&key=tty-ctrl-c`;
    const run = await onTerminal(cliCommand(['get', url, '-o', path.join(dir, 'big.bin')]), {
      env: env(),
      ctrlCWhen: (text) => /file .*\d+%/.test(text),
    });
    expect(run.code).toBe(130);
    expect(barRows(run.screen)).toEqual([expect.stringMatching(/^✗ file {2}interrupted .* \d+%/)]);
    expect(run.screen.at(-1)).toBe('interrupted: nothing was left at the destination');
    expect(run.lines.join('\n')).not.toMatch(/fail/i);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('labels the bars of two URLs with the same file name apart', async () => {
    const dir = tempDir('urlsession-cli-tty-');
    const first = `${server.base}/file/a/data.bin?size=300000&seed=85`;
    const second = `${server.base}/file/b/data.bin?size=200000&seed=86`;
    const query = [`${server.base}/file?size=100000&seed=87`, `${server.base}/file?size=100000&seed=88`];
    const run = await onTerminal(cliCommand(['get', first, second, ...query, '-o', `${dir}/`]), { env: env() });
    expect(run.code).toBe(0);
    const host = new URL(server.base).host;
    const labels = ['a/data.bin', 'b/data.bin', `${host}/file?size=100000&seed=87`, `${host}/file?size=100000&seed=88`];
    // One row per URL, in their order, each finished; the messages printed above them moved
    // every bar down a row, so none of them is left behind or drawn twice.
    const bars = barRows(run.screen);
    expect(bars.map((row) => row.slice(2, 2 + labels[2].length).trimEnd())).toEqual(labels);
    for (const row of bars) expect(row).toMatch(/^✓ .* 100% /);
    // Padded to one width, the bars start in one column.
    expect(new Set(bars.map((row) => row.search(/█{10}/))).size).toBe(1);
    for (const url of [first, second, ...query])
      expect(run.screen.filter((row) => row.startsWith(`${url} -> `))).toHaveLength(1);
    expect(fs.readdirSync(dir).sort()).toEqual(['data-1.bin', 'data.bin', 'file', 'file-1']);
  });

  it('stops the spinner of a download of unknown size when it is done', async () => {
    const dir = tempDir('urlsession-cli-tty-');
    const run = await onTerminal(
      cliCommand(['get', `${chunkedBase}/chunked?size=600000`, '-o', path.join(dir, 'stream.bin')]),
      { env: env() },
    );
    expect(run.code).toBe(0);
    const frames = run.lines.filter((line) => line.slice(2).startsWith('chunked'));
    expect(
      frames.some((line) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] chunked /.test(line)),
      frames.join('\n'),
    ).toBe(true);
    expect(barRows(run.screen)).toEqual([expect.stringMatching(/^✓ chunked {2}600\.0 KB/)]);
    expect(fileSha(path.join(dir, 'stream.bin'))).toBe(sha256(makeBytes(600_000, 81)));
  });
});

describe('urlsession demo on a terminal', () => {
  it('passes offline, in one unit system, and removes its files', async () => {
    const run = await onTerminal(cliCommand(['demo']), { env: env() });
    expect(run.code).toBe(0);
    const text = run.screen.join('\n');
    expect(barRows(run.screen)).toEqual([
      expect.stringMatching(/^✓ download 64\.0 MB .* 100% {2}64\.0 MB\/64\.0 MB/),
      expect.stringMatching(/^✓ upload 32\.0 MB .* 100% {2}32\.0 MB\/32\.0 MB/),
    ]);
    expect(text).toMatch(/^all transfers verified: 96\.0 MB in \d+\.\d\d s$/m);
    expect(text).not.toMatch(/MiB|KiB/);
    const work = /^the demo's files were in (.+), now removed$/m.exec(text)?.[1] as string;
    expect(fs.existsSync(work)).toBe(false);
  });
});
