// Shared by the state-folder tests: a real tmpfs and filling a file system. (Conditions:
// test/helpers/wait-for.ts; child processes: test/helpers/child.ts.)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Unmounts and removes the mount point. */
  remove(): void;
}

/** A fresh tmpfs of `size` (mount(8) syntax, e.g. '256k'), or undefined without the right to mount. */
export function mountTmpfs(size: string): Tmpfs | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    remove() {
      // A descriptor the engine thread has not closed yet (a session invalidated a moment ago)
      // makes umount fail with EBUSY: detach it lazily then, so no mount outlives the test.
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the file system holding `dir` with one file until a write fails with ENOSPC, leaving `leave` bytes free (rounded to blocks). */
export function fill(dir: string, leave = 0): string {
  const filler = path.join(dir, `filler-${process.pid}-${Date.now()}`);
  const fd = fs.openSync(
    filler,
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
    0o600,
  );
  try {
    const { bavail, bsize } = fs.statfsSync(dir);
    const target = Math.max(0, bavail * bsize - leave);
    const chunk = Buffer.alloc(4096, 0x5a);
    for (let written = 0; leave === 0 || written + chunk.length <= target; written += chunk.length) {
      try {
        fs.writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw error;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}
