// Removes stale partial files from a download folder: those a process that died without
// cleaning up left behind (SIGKILL, SIGINT/SIGTERM without a handler, a crash, a power cut).
// A partial file is stale, and removed, only when all of these hold:
//  - its name is one the engines make, ".<name>.<pid>.<16 hex>.partial" (native/core/file_ops.h
//    kPartialFileNamePattern), so a persistent session's journaled ".urlsession.<16 hex>.partial"
//    (resumed by a later process through its journal) and files of other programs never are;
//  - lstat shows a regular file of this user with one link (never a link, a folder, a FIFO,
//    another user's file or a hard link to something else);
//  - the pid in its name is not a live process (kill(pid, 0) fails with ESRCH), so no running
//    process, this one or another, can still be writing it;
//  - it was last written more than a day ago, so resume data made in an earlier process (kept
//    by the app to continue later) keeps its file for at least that long.
// Each folder is swept once per process, the first time a session downloads into it, in the
// background: the folder is read in batches by the libuv thread pool (fs.promises.opendir) and
// only matching names are looked at, so a folder of many files never stalls the event loop.
// JS thread only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { debuglog } from 'node:util';
import { ENGINE_PARTIAL_FILE_NAME } from './partial-files';

/** A stale partial file has not been written for this long. */
export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

const debug = debuglog('urlsession');
const sweeps = new Map<string, Promise<number>>();
const REMEMBERED_FOLDERS = 4096;

/**
 * Sweeps `directory` once per process (later calls return the first sweep); resolves with the
 * number of files removed. Never rejects: a folder that cannot be read is simply not swept.
 */
export function sweepStalePartials(directory: string): Promise<number> {
  const folder = path.resolve(directory);
  let sweep = sweeps.get(folder);
  if (sweep === undefined) {
    // Forgetting folders only means sweeping one again: nothing is removed that is not stale.
    if (sweeps.size >= REMEMBERED_FOLDERS) sweeps.clear();
    sweep = sweepFolder(folder).catch(() => 0);
    sweeps.set(folder, sweep);
  }
  return sweep;
}

async function sweepFolder(folder: string): Promise<number> {
  // A link at the folder's own path is followed (the app chose that path); nothing inside is.
  const dir = await fs.promises.opendir(folder, { bufferSize: 128 });
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : undefined;
  let removed = 0;
  for await (const entry of dir) {
    const match = ENGINE_PARTIAL_FILE_NAME.exec(entry.name);
    if (match === null || entry.isSymbolicLink() || entry.isDirectory()) continue;
    if (processMayBeAlive(Number(match[1]))) continue;
    const file = path.join(folder, entry.name);
    const stats = await fs.promises.lstat(file).catch(() => undefined);
    if (stats === undefined || !stats.isFile() || stats.nlink !== 1 || (uid !== undefined && stats.uid !== uid))
      continue;
    if (Date.now() - stats.mtimeMs < STALE_AFTER_MS) continue;
    try {
      await fs.promises.unlink(file);
      removed++;
    } catch {
      // Gone already, or the folder is read-only: nothing to do.
    }
  }
  if (removed > 0) debug('removed %d stale partial files from %s', removed, folder);
  return removed;
}

// kill(pid, 0): ESRCH means no such process; success or EPERM (another user's) means alive.
// A pid this system cannot have is treated as alive: nothing is removed on a guess.
function processMayBeAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 0x7fffffff) return true;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
