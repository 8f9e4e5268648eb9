// Folders that must belong to this user alone (the default download folder): created 0700,
// and an existing one is used only when it is a real folder (not a link) owned by this user,
// narrowed to 0700 when its mode is wider. JS thread only (mkdir/lstat: nothing that can wait
// on a FIFO).
import * as fs from 'node:fs';
import { codedError, ErrorCodes, type ErrorCode } from './errors';

/** Makes sure `directory` is a private folder of ours; throws a coded Error otherwise. */
export function ensurePrivateDirectory(directory: string, code: ErrorCode = ErrorCodes.DOWNLOAD_DIRECTORY): void {
  try {
    fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw codedError(code, `cannot create ${directory}: ${(error as Error).message}`);
  }
  const stats = fs.lstatSync(directory);
  if (!stats.isDirectory()) {
    throw codedError(code, `${directory} is not a folder (a link or a file lies there); refusing to use it`);
  }
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : stats.uid;
  if (stats.uid !== uid) {
    throw codedError(code, `${directory} belongs to user ${stats.uid}, not to this user (${uid}); refusing to use it`);
  }
  if ((stats.mode & 0o077) !== 0) fs.chmodSync(directory, 0o700);
}
