// A download folder renamed away mid-transfer (issue 15, item 13): the download holds its folder
// open, so its partial file is removed from wherever the folder went; the finished file never
// appears where the caller's path does not lead (the moved folder, or a folder re-created at the
// path): the task fails with -3000 (NSURLErrorCannotCreateFile), and nothing is left anywhere.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { waitFor } from '../helpers/wait-for';
import * as URLSession from '../../lib/index';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';

const server = useTaskServer();

const SLOW = (seed: number): string =>
  `${server.base}/file?size=1500000&seed=${seed}&etag=v${seed}&delay=5&chunk=16384`;

/** Every entry under `root`, as paths relative to it (folders end with '/'). */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        out.push(`${prefix}${entry.name}/`);
        walk(path.join(dir, entry.name), `${prefix}${entry.name}/`);
      } else {
        out.push(`${prefix}${entry.name}`);
      }
    }
  };
  walk(root, '');
  return out.sort();
}

function setup(): { root: string; downloads: string; moved: string; session: URLSession.Session } {
  const root = tempDir('urlsession-renamed-');
  const downloads = path.join(root, 'downloads');
  fs.mkdirSync(downloads);
  const session = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({ downloadDirectory: downloads }),
  });
  return { root, downloads, moved: path.join(root, 'moved'), session };
}

/** Waits until the download has written some bytes into its partial file. */
async function midTransfer(task: URLSession.Task<any>, downloads: string): Promise<void> {
  let transferred = 0;
  task.on('progress', (p) => (transferred = p.transferred));
  await waitFor('bytes in the partial file', () => transferred > 100_000);
  expect(fs.readdirSync(downloads).filter((name) => name.endsWith('.partial'))).toHaveLength(1);
}

describe('a download folder renamed away mid-transfer', () => {
  it('the finished download fails with -3000 and its partial file goes from the moved folder; the path is not re-created', async () => {
    const { root, downloads, moved, session } = setup();
    try {
      const task = session.download(SLOW(1));
      await midTransfer(task, downloads);
      fs.renameSync(downloads, moved);
      const error = await task.done.then(
        () => undefined,
        (e: unknown) => e as URLSession.TransferError,
      );
      expect(tree(root)).toEqual(['moved/']);
      expect(error).toBeInstanceOf(URLSession.TransferError);
      expect(error?.errorCode).toBe(-3000);
      expect(error?.resumeData).toBeUndefined();
    } finally {
      session.invalidateAndCancel();
    }
  });

  it('a folder made anew at the path does not receive the file either, and an existing file in the moved folder is not replaced (overwrite)', async () => {
    const { root, downloads, moved, session } = setup();
    fs.writeFileSync(path.join(downloads, 'kept.bin'), "the user's own file\n");
    try {
      const task = session.download(SLOW(2), { destination: path.join(downloads, 'kept.bin'), overwrite: true });
      await midTransfer(task, downloads);
      fs.renameSync(downloads, moved);
      fs.mkdirSync(downloads);
      const error = await task.done.then(
        () => undefined,
        (e: unknown) => e as URLSession.TransferError,
      );
      expect(tree(root)).toEqual(['downloads/', 'moved/', 'moved/kept.bin']);
      expect(fs.readFileSync(path.join(moved, 'kept.bin'), 'utf8')).toBe("the user's own file\n");
      expect(error?.errorCode).toBe(-3000);
    } finally {
      session.invalidateAndCancel();
    }
  });

  it('a download cancelled after the rename leaves nothing in the moved folder and gives no resume data naming the old path', async () => {
    const { root, downloads, moved, session } = setup();
    try {
      const task = session.download(SLOW(3));
      await midTransfer(task, downloads);
      fs.renameSync(downloads, moved);
      const resumeData = await task.cancelByProducingResumeData();
      await task.done.catch(() => undefined);
      expect(tree(root)).toEqual(['moved/']);
      expect(resumeData).toBeNull();
    } finally {
      session.invalidateAndCancel();
    }
  });

  it("Titanium's downloadTask reports -3000 in sessioncompleted and leaves nothing behind", async () => {
    const { root, downloads, moved, session } = setup();
    let written = 0;
    session.on('downloadprogress', (e) => (written = e.totalBytesWritten));
    const completed = new Promise<URLSession.URLSessionEventMap['sessioncompleted']>((resolve) =>
      session.once('sessioncompleted', resolve),
    );
    try {
      session.downloadTask({ url: SLOW(4) });
      await waitFor('bytes in the partial file', () => written > 100_000);
      fs.renameSync(downloads, moved);
      const event = await completed;
      expect(tree(root)).toEqual(['moved/']);
      expect(event).toMatchObject({ success: false, errorCode: -3000 });
    } finally {
      session.invalidateAndCancel();
    }
  });

  it('a download folder given as a link works; a link pointed elsewhere mid-transfer fails with -3000 and leaves nothing in either folder', async () => {
    const root = tempDir('urlsession-renamed-link-');
    const [first, second] = [path.join(root, 'first'), path.join(root, 'second')];
    fs.mkdirSync(first);
    fs.mkdirSync(second);
    const link = path.join(root, 'link');
    fs.symlinkSync(first, link);
    const session = URLSession.createSession({
      configuration: URLSession.createSessionConfiguration({ downloadDirectory: link }),
    });
    try {
      // The link is the path the caller chose: followed, as before.
      const result = await session.download(`${server.base}/file?size=300000&seed=5`).done;
      expect(result.location).toBe(path.join(link, 'file'));
      expect(sha256(fs.readFileSync(path.join(first, 'file')))).toBe(sha256(makeBytes(300_000, 5)));
      const task = session.download(SLOW(6));
      await midTransfer(task, link);
      fs.unlinkSync(link);
      fs.symlinkSync(second, link);
      const error = await task.done.then(
        () => undefined,
        (e: unknown) => e as URLSession.TransferError,
      );
      expect(tree(root)).toEqual(['first/', 'first/file', 'link', 'second/']);
      expect(error?.errorCode).toBe(-3000);
    } finally {
      session.invalidateAndCancel();
    }
  });
});
