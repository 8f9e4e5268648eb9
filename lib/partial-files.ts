// Partial files seen from the JS thread: their names, creating a persistent session's partial
// file, telling whether a path still holds that file of ours, and removing it only then. The
// engines' rules for the same files are native/core/file_ops.h's; these mirror them (identity
// "device:inode:birthNs", a regular file of this user with one link, hidden "….<16 hex>.partial"
// names) or, for the engines' names, come from there.
// Everything here is lstat/open(O_EXCL|O_NOFOLLOW|O_NONBLOCK): nothing follows a link planted in
// a shared download folder, and nothing waits on a FIFO. JS thread only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { binding } from './binding';

/**
 * Any hidden partial file's name of ours: the engines' ".<name>.<pid>.<16 hex>.partial", a
 * persistent session's ".urlsession.<16 hex>.partial" (made below), and the engines' names
 * before they carried the pid (".<name>.<16 hex>.partial", still named by resume data).
 */
export const PARTIAL_FILE_NAME = /^\..*\.[0-9a-f]{16}\.partial$/;

/** The engines' partial file names, group 1 the creating process's pid: native/core/file_ops.h's one rule. */
export const ENGINE_PARTIAL_FILE_NAME = new RegExp(binding.partialFileNamePattern);

const CREATE_FLAGS =
  fs.constants.O_WRONLY |
  fs.constants.O_CREAT |
  fs.constants.O_EXCL |
  fs.constants.O_NOFOLLOW |
  fs.constants.O_NONBLOCK;

export interface PartialFile {
  path: string;
  /** "device:inode:birthNs", as native/core/file_ops.h's FileIdentity::ToString. */
  identity: string;
}

// native/core/file_ops.h FileIdentity::ToString: the birth time tells a new file from an old
// one whose inode number was given out again.
export function identityOf(stats: fs.BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.birthtimeNs}`;
}

/** The identity of a regular file of ours with one link at `file` (never followed), else undefined. */
export function ownPartialIdentity(file: string): string | undefined {
  let stats: fs.BigIntStats | undefined;
  try {
    stats = fs.lstatSync(file, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (stats === undefined || !stats.isFile() || stats.nlink !== 1n) return undefined;
  if (typeof process.geteuid === 'function' && stats.uid !== BigInt(process.geteuid())) return undefined;
  return identityOf(stats);
}

/** Whether `file` is still the partial file `identity` of ours. */
export function isOwnPartial(file: string, identity: string | undefined): boolean {
  return identity !== undefined && identity !== '' && ownPartialIdentity(file) === identity;
}

/** A fresh, unpredictable hidden partial file name of a persistent session in `directory`. */
export function newPartialPath(directory: string): string {
  return path.join(directory, `.urlsession.${randomBytes(8).toString('hex')}.partial`);
}

/**
 * Creates the new, empty, private partial file `file` (its folder is created when missing).
 * O_EXCL: whatever already lies at the name is never opened or truncated (EEXIST is thrown).
 */
export function createPartialFileAt(file: string): PartialFile {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, CREATE_FLAGS, 0o600);
  try {
    return { path: file, identity: identityOf(fs.fstatSync(fd, { bigint: true })) };
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes the partial file `identity` at `file`; anything else at that path is left alone. */
export function removeOwnPartial(file: string | undefined, identity: string | undefined): void {
  if (file === undefined || !isOwnPartial(file, identity)) return;
  try {
    fs.unlinkSync(file);
  } catch {
    // Gone already, or the folder became read-only: nothing of the user's is at stake.
  }
}
