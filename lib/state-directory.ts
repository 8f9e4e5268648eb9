// A persistent session's state folder: where it is (the per-user default), checking or making
// it (0700, this user's), the OS lock that makes one session its owner, and the crash-safe,
// never-following file operations the journal and the upload bodies use inside it.
// JS thread only.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { userCacheRoot } from './user-folders';
import { binding } from './binding';
import { ErrorCodes } from './errors';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_DIRECTORY } = fs.constants;

export class StateDirectoryError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'StateDirectoryError';
    this.code = code;
  }
}

/** The per-user default: <user cache root>/<identifier> (lib/user-folders.ts). */
export function defaultStateDirectory(identifier: string): string {
  return path.join(userCacheRoot(), folderNameFor(identifier));
}

/** Identifiers are free text; folder names are not. Readable prefix plus a hash for uniqueness. */
function folderNameFor(identifier: string): string {
  const readable = identifier
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 80);
  const hash = createHash('sha256').update(identifier).digest('hex').slice(0, 8);
  return readable === identifier ? identifier : `${readable}-${hash}`;
}

/**
 * Creates `file` with `data`, only if nothing is at that name: O_CREAT|O_EXCL|O_NOFOLLOW, 0600,
 * so no planted file, FIFO or symlink is ever opened or followed (the open itself creates the
 * file, so it is a new regular file: nothing left for fstat to check). The whole of `data` is written
 * (a nearly full disk takes short writes); on any failure the half-written file is removed and
 * the error thrown. JS thread.
 */
export function writeNewFile(file: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const fd = fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    writeAll(fd, bytes);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw error;
  }
  fs.closeSync(fd);
}

/**
 * Replaces `file` crash-safely with `chunks`: a fresh temp file with a random name next to it
 * (`<file>.<16 hex>.tmp`, O_EXCL|O_NOFOLLOW 0600; its one job is to hold the new content until
 * the rename makes it the file), fsync, rename over `file`, fsync the folder. On failure the
 * temp file is removed and the error thrown. Returns the bytes written. JS thread.
 */
export function writeReplacing(file: string, chunks: Iterable<Uint8Array>): number {
  const temp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  const fd = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  let written = 0;
  try {
    try {
      for (const chunk of chunks) {
        writeAll(fd, chunk);
        written += chunk.length;
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fsyncDirectory(path.dirname(file));
  return written;
}

/** Writes all of `bytes` at the descriptor's position (a nearly full disk takes short writes). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

// Makes the rename durable. O_DIRECTORY: anything but a folder is refused at open (no FIFO can
// make this wait). Some file systems cannot fsync a folder; the rename is still atomic.
export function fsyncDirectory(directory: string): void {
  try {
    const fd = fs.openSync(directory, O_RDONLY | O_DIRECTORY);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // nothing to add: see above
  }
}

// Creates the state folder 0700 (and missing parents), or checks the one that is there: it must
// be a folder of this process's user, and it is narrowed to 0700 when its mode is wider. The
// checks run on an open descriptor (O_DIRECTORY: anything but a folder is refused at open, so a
// FIFO cannot make this wait), so they are about the folder that is used. The path itself may
// be a symlink to such a folder (a relocated cache). JS thread.
function ensureStateDirectory(directory: string): void {
  const refuse = (why: string): never => {
    throw new StateDirectoryError(ErrorCodes.STATE_DIRECTORY, `cannot use the state directory ${directory}: ${why}`);
  };
  let fd: number;
  try {
    fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
    fd = fs.openSync(directory, O_RDONLY | O_DIRECTORY);
  } catch (error) {
    return refuse(`${(error as NodeJS.ErrnoException).code ?? 'EIO'}: ${(error as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    const uid = process.geteuid?.();
    if (uid !== undefined && st.uid !== uid) refuse(`it belongs to uid ${st.uid}, not to this process's uid ${uid}`);
    if ((st.mode & 0o077) !== 0) fs.fchmodSync(fd, 0o700);
  } catch (error) {
    if (error instanceof StateDirectoryError) throw error;
    refuse(`${(error as NodeJS.ErrnoException).code ?? 'EIO'}: ${(error as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A state file's bytes, or why it is unusable, or neither when there is none. O_NOFOLLOW: a
 * symlink is not followed (ELOOP); O_NONBLOCK: opening a FIFO does not wait for a writer;
 * fstat: only a regular file is read, so nothing here can block the JS thread. Other errors
 * (EACCES) are thrown. Bytes, not text: a journal may be longer than the longest JS string.
 */
export function readStateFile(file: string): { bytes?: Buffer; unusable?: string } {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return {};
    if (code === 'ELOOP' || code === 'EMLINK') return { unusable: 'was a symlink' };
    throw error;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { unusable: `was ${fileKind(st)}, not a regular file` };
    return { bytes: fs.readFileSync(fd) };
  } finally {
    fs.closeSync(fd);
  }
}

function fileKind(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a file';
}

// The session's lock: an exclusive flock on `lock` in the state folder, taken by the addon
// (native/core/file_lock.cc) and held on one descriptor until close(). A dead owner releases it
// by dying, so there is no stale lock to take over and no pid to trust; the pid in the file only
// names the owner in the message of whoever is turned away. It is a lock per open file
// description: two sessions of one process (another identifier on the same folder, a worker
// thread) exclude each other as two processes do. Returns the descriptor.
/**
 * Checks the state folder (ensureStateDirectory) and takes its lock; release it with
 * binding.unlockFile, or hand it to Journal.open. Sessions take it before their engine exists,
 * in every mode (a macOS system background session too: two processes must not both create the
 * NSURLSession of one identifier). Throws a coded StateDirectoryError.
 */
export function lockStateDirectory(directory: string): number {
  ensureStateDirectory(directory);
  return takeLock(directory);
}

function takeLock(directory: string): number {
  const lock = path.join(directory, 'lock');
  const result = binding.lockFile(lock);
  switch (result.status) {
    case 'locked':
      return result.fd;
    case 'held': {
      const owner =
        result.holder === 0
          ? 'another session'
          : `process ${result.holder}${result.holder === process.pid ? ' (this process)' : ''}`;
      throw new StateDirectoryError(
        ErrorCodes.SESSION_LOCKED,
        `${owner} owns this session's state directory (${directory})`,
      );
    }
    case 'not-regular':
      throw new StateDirectoryError(
        ErrorCodes.STATE_DIRECTORY,
        `cannot lock the state directory: ${lock} is not a regular file`,
      );
    case 'not-owner':
      throw new StateDirectoryError(
        ErrorCodes.STATE_DIRECTORY,
        `cannot lock the state directory: ${lock} belongs to another user`,
      );
    default:
      throw new StateDirectoryError(
        ErrorCodes.STATE_DIRECTORY,
        `cannot lock the state directory (${errnoName(result.errno)}): ${lock}`,
      );
  }
}

/** 'ELOOP' for 40 on Linux; the number itself when the platform has no name for it. */
function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(os.constants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}
