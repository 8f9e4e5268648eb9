// A local attacker who can write into the download folder: links, FIFOs and other files planted
// at the names we use, or swapped in for our partial file mid-download or across a crash, are
// never followed, opened, truncated or reported as the download; the default folder is private.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import * as URLSession from '../../lib/index';
import { runChild } from '../helpers/child';
import { peekJournal, type JournalState } from '../../lib/journal';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';

const server = useTaskServer();

function temp(prefix = 'urlsession-attack-'): string {
  return tempDir(prefix);
}

/** A file the attacker wants us to overwrite: root's (or our) private secret. */
function victim(): { file: string; intact: () => void } {
  const file = path.join(temp('urlsession-victim-'), 'secret.txt');
  fs.writeFileSync(file, 'top secret\n', { mode: 0o600 });
  return {
    file,
    intact: () => {
      expect(fs.readFileSync(file, 'utf8')).toBe('top secret\n');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    },
  };
}

const fileSha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const oldTag = (identifier: string): string => createHash('sha256').update(identifier).digest('hex').slice(0, 10);
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

describe('a local attacker in the download folder', () => {
  it('a link swapped in for the partial file mid-download is not followed, and the destination never becomes a link', async () => {
    const dir = temp();
    const target = victim();
    const session = URLSession.createSession({
      configuration: URLSession.createSessionConfiguration({ downloadDirectory: dir }),
    });
    try {
      const task = session.download(`${server.base}/file?size=2000000&seed=4&delay=5&chunk=16384`, { retry: 0 });
      await new Promise<void>((resolve) => task.on('progress', (p) => p.transferred > 100_000 && resolve()));
      const partial = fs.readdirSync(dir).find((name) => name.endsWith('.partial')) as string;
      // The attacker moves our file aside and plants a link to the victim at its name.
      fs.renameSync(path.join(dir, partial), path.join(dir, 'moved-aside'));
      fs.symlinkSync(target.file, path.join(dir, partial));
      const outcome = await task.done.then(
        (r) => r,
        (e: unknown) => e as URLSession.TransferError,
      );
      target.intact();
      // Either the download is refused (-3005: what is at the partial name is not our file), or
      // what it reports is a regular file: never a link to the victim.
      if ('location' in outcome && typeof outcome.location === 'string') {
        expect(fs.lstatSync(outcome.location).isSymbolicLink()).toBe(false);
      } else {
        expect(outcome).toMatchObject({ errorCode: -3005 });
      }
      for (const name of fs.readdirSync(dir)) {
        if (name !== partial) expect(fs.lstatSync(path.join(dir, name)).isSymbolicLink(), name).toBe(false);
      }
    } finally {
      session.invalidateAndCancel();
    }
  });

  it('links and FIFOs planted at the names an earlier release used are never opened: no truncation, no hang', async () => {
    const root = temp();
    const downloadDirectory = path.join(root, 'downloads');
    fs.mkdirSync(downloadDirectory);
    const target = victim();
    const identifier = 'attack.predictable';
    // Release 0.1.0 named a persistent session's partial file .urlsession-<sha256(id)[:10]>-<taskId>.partial.
    fs.symlinkSync(target.file, path.join(downloadDirectory, `.urlsession-${oldTag(identifier)}-1.partial`));
    execFileSync('mkfifo', [path.join(downloadDirectory, `.urlsession-${oldTag(identifier)}-2.partial`)]);
    const urls = [1, 2].map((seed) => `${server.base}/file?size=300000&seed=${seed}`);
    // In a child process: a JS thread blocked in open(2) on the FIFO would freeze this runner too.
    const run = await runChild(
      { identifier, stateDirectory: path.join(root, 'state'), downloadDirectory, urls },
      undefined,
      { deadlineMs: 20_000 },
    );
    expect(run.timedOut, 'the child hung').toBe(false);
    const done = run.lines.filter((l) => l.type === 'downloadcompleted');
    expect(done.map((l) => fileSha(l.location)).sort()).toEqual(
      [1, 2].map((seed) => sha256(makeBytes(300_000, seed))).sort(),
    );
    target.intact();
  });

  for (const planted of ['link', 'fifo'] as const) {
    it(`after a kill -9, a ${planted} swapped in for the journaled partial file is left alone and the download starts over`, async () => {
      const root = temp();
      const d = { stateDirectory: path.join(root, 'state'), downloadDirectory: path.join(root, 'downloads') };
      const target = victim();
      const url = `${server.base}/file?size=2000000&seed=7&etag=v1&delay=5&chunk=16384`;
      const first = await runChild(
        { identifier: `attack.crash.${planted}`, ...d, urls: [url] },
        (line) => line.type === 'progress' && line.total > 200_000,
      );
      expect(first.signal).toBe('SIGKILL');
      const journal = peekJournal(d.stateDirectory) as JournalState;
      const partialPath = journal.tasks[0].partialPath as string;
      fs.rmSync(partialPath);
      if (planted === 'link') fs.symlinkSync(target.file, partialPath);
      else execFileSync('mkfifo', [partialPath]);
      const second = await runChild({ identifier: `attack.crash.${planted}`, ...d }, undefined, { deadlineMs: 20_000 });
      expect(second.timedOut, 'the re-attached download hung').toBe(false);
      const completed = second.lines.find((l) => l.type === 'downloadcompleted');
      expect(completed?.id).toBe(1);
      expect(fileSha(completed?.location)).toBe(sha256(makeBytes(2_000_000, 7)));
      target.intact();
      // What the attacker planted is still there, untouched (not ours to delete).
      const stats = fs.lstatSync(partialPath);
      expect(planted === 'link' ? stats.isSymbolicLink() : stats.isFIFO()).toBe(true);
    });
  }

  it('finished downloads follow the umask (0666 & ~umask); partial files stay 0600', async () => {
    for (const umask of [0o022, 0o002, 0o077]) {
      const root = temp();
      const downloadDirectory = path.join(root, 'downloads');
      const url = `${server.base}/file?size=100000&seed=9`;
      const run = await runChild({
        identifier: `modes.${umask}`,
        persistent: false,
        downloadDirectory,
        urls: [url],
        umask,
      });
      const completed = run.lines.find((l) => l.type === 'downloadcompleted');
      expect(completed?.mode, `umask ${umask.toString(8)}`).toBe(0o666 & ~umask);
    }
  });
});

describe.skipIf(!asRoot)('the default download folder (as root, against another local user)', () => {
  it('is <tmpdir>/urlsession-<uid>, created 0700; one that another user made first is refused with a coded error', async () => {
    const tmp = temp('urlsession-tmpdir-');
    fs.chmodSync(tmp, 0o1777);
    const target = victim();
    const identifier = 'attack.default';
    // As nobody: the folders a root process would use by default, world-writable, with links at
    // the partial names release 0.1.0 would have opened.
    const uid = process.getuid?.() as number;
    for (const name of [`urlsession-${uid}`, 'urlsession-downloads']) {
      const folder = path.join(tmp, name);
      execFileSync('setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'sh',
        '-c',
        `mkdir -m 0777 "${folder}" && ln -s "${target.file}" "${folder}/.urlsession-${oldTag(identifier)}-1.partial"`,
      ]);
    }
    const state = path.join(temp(), 'state');
    const env = { ...process.env, TMPDIR: tmp };
    const url = `${server.base}/file?size=100000&seed=3`;
    const run = await runChild({ identifier, stateDirectory: state, urls: [url] }, undefined, {
      env,
      deadlineMs: 20_000,
    });
    expect(run.lines.find((l) => l.type === 'thrown')).toMatchObject({ code: 'ERR_URLSESSION_DOWNLOAD_DIRECTORY' });
    expect(run.lines.some((l) => l.type === 'downloadcompleted')).toBe(false);
    target.intact();

    // Our own default folder: made 0700, and the download lands in it.
    const ownTmp = temp('urlsession-tmpdir-');
    const own = await runChild({ identifier: 'attack.default.own', persistent: false, urls: [url] }, undefined, {
      env: { ...process.env, TMPDIR: ownTmp },
    });
    const completed = own.lines.find((l) => l.type === 'downloadcompleted');
    expect(path.dirname(completed?.location)).toBe(path.join(ownTmp, `urlsession-${uid}`));
    expect(fs.statSync(path.join(ownTmp, `urlsession-${uid}`)).mode & 0o777).toBe(0o700);
    expect(fileSha(completed?.location)).toBe(sha256(makeBytes(100_000, 3)));
  });
});

describe('a download folder swapped between two downloads of one session', () => {
  // Downloads that overlap share one descriptor for their folder (core/file_ops.h OpenFolder):
  // a folder swapped meanwhile must not be written through the descriptor of the one before.
  for (const replacement of ['a link to another folder', 'another folder'] as const) {
    it(`the download folder replaced by ${replacement} while a download holds it: the next download lands where the path leads now, nothing in the old folder`, async () => {
      const parent = temp();
      const dir = path.join(parent, 'downloads');
      fs.mkdirSync(dir);
      const session = URLSession.createSession({
        configuration: URLSession.createSessionConfiguration({ downloadDirectory: parent }),
      });
      try {
        const slow = session.download(`${server.base}/file?size=2000000&seed=5&delay=5&chunk=16384`, {
          destination: path.join(dir, 'slow.bin'),
          retry: 0,
        });
        await new Promise<void>((resolve) => slow.on('progress', (p) => p.transferred > 50_000 && resolve()));
        const moved = path.join(parent, 'moved-away');
        fs.renameSync(dir, moved);
        const now = path.join(parent, 'now');
        fs.mkdirSync(now);
        if (replacement === 'another folder') fs.renameSync(now, dir);
        else fs.symlinkSync(now, dir);
        const leadsTo = replacement === 'another folder' ? dir : now;

        const result = await session.download(`${server.base}/file?size=100000&seed=6`, {
          destination: path.join(dir, 'next.bin'),
          retry: 0,
        }).done;
        expect(fs.realpathSync(result.location)).toBe(path.join(fs.realpathSync(leadsTo), 'next.bin'));
        expect(fileSha(result.location)).toBe(sha256(makeBytes(100_000, 6)));
        expect(fs.readdirSync(leadsTo)).toEqual(['next.bin']);
        // The moved folder holds the slow download's partial file and nothing else, until it ends.
        expect(fs.readdirSync(moved).filter((name) => !name.endsWith('.partial'))).toEqual([]);
        expect(fs.readdirSync(moved)).toHaveLength(1);
        slow.cancel();
        await expect(slow.done).rejects.toMatchObject({ name: 'AbortError' });
        expect(fs.readdirSync(moved)).toEqual([]);
      } finally {
        session.invalidateAndCancel();
      }
    });
  }
});
