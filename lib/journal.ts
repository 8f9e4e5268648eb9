// The journal of a persistent session: what it must finish or deliver after the process dies.
// One JSON document per session, replaced crash-safely (write a temp file, fsync, rename,
// fsync the folder). An OS lock on the folder's lock file makes one session the owner of an
// identifier at a time. JS thread only; writes are coalesced to one per tick.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { userCacheRoot } from './user-folders';
import { createHash, randomBytes } from 'node:crypto';
import { binding } from './binding';
import { ErrorCodes } from './errors';

const VERSION = 1;
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_DIRECTORY } = fs.constants;
/** Temp files of writeReplacing (journal.json.<16 hex>.tmp). */
const TEMP_NAME = /^journal\.json\.[0-9a-f]{16}\.tmp$/;
/** The retry timer of a failing journal: first after 250 ms, then doubling up to 4 s. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 4000;

/** A write into the state folder failed: the session's 'warning' event carries this. */
export interface JournalWarning {
  message: string;
  path: string;
  /** The errno code, e.g. 'ENOSPC'. */
  code: string;
}

export interface JournaledTask {
  taskIdentifier: number;
  kind: 'download' | 'upload' | 'data';
  url: string;
  method: string;
  /** Flat [name, value, ...]. */
  headers: string[];
  taskDescription: string;
  /** Uploads and data tasks: the body, as a file path or base64 bytes. */
  bodyPath?: string;
  bodyBase64?: string;
  /**
   * The in-memory body could not be stored in the state folder (it was full): it lived only in
   * the memory of the process that started the task, so a later process reports the task failed.
   */
  bodyInMemory?: boolean;
  /** Downloads. */
  downloadDirectory?: string;
  downloadFileName?: string;
  nameFromResponse?: boolean;
  overwrite?: boolean;
  partialPath?: string;
  /** The identity ("device:inode:birthNs") of partialPath (lib/partial-files.ts): re-attach uses only that very file. */
  partialIdentity?: string;
  validator?: string;
  expectedBytes?: number;
}

/** A completion the engine reported but JS listeners have not received yet (at-least-once). */
export interface JournaledCompletion {
  taskIdentifier: number;
  kind: JournaledTask['kind'];
  errorCode: number;
  message: string;
  statusCode: number;
  location?: string;
  responseBase64?: string;
  /** A body over persistence.ts's JOURNALED_RESPONSE_LIMIT is not kept: its length instead. */
  responseOmittedBytes?: number;
}

export interface JournalState {
  nextTaskIdentifier: number;
  tasks: JournaledTask[];
  undelivered: JournaledCompletion[];
}

/** An unusable journal.json moved aside at open: where to, and why ('was damaged', 'was a FIFO', ...). */
export interface SetAside {
  path: string;
  reason: string;
}

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
  const readable = identifier.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(0, 80);
  const hash = createHash('sha256').update(identifier).digest('hex').slice(0, 8);
  return readable === identifier ? identifier : `${readable}-${hash}`;
}

export class Journal {
  readonly directory: string;
  #file: string;
  /** The descriptor that holds the session's lock (native/core/file_lock.h) until close(). */
  #lockFd: number;
  #state: JournalState;
  /** A flush is queued for the next tick (writes are coalesced to one per tick). */
  #scheduled = false;
  /** The state in memory is newer than the file. */
  #unwritten = false;
  #closed = false;
  /** A write into the folder failed and no journal write succeeded since (one warning per episode). */
  #failing = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = RETRY_MIN_MS;
  #onWarning: ((warning: JournalWarning) => void) | undefined;
  /** Set when an unusable journal was set aside at open (a warning for the app). */
  readonly setAside: SetAside | undefined;

  private constructor(directory: string, lockFd: number, state: JournalState, setAside: SetAside | undefined) {
    this.directory = directory;
    this.#file = path.join(directory, 'journal.json');
    this.#lockFd = lockFd;
    this.#state = state;
    this.setAside = setAside;
  }

  /**
   * Takes the lock and reads the journal. Throws a coded StateDirectoryError when it cannot own
   * the folder. `onWarning` hears of writes that fail later (see flush).
   */
  static open(directory: string, onWarning?: (warning: JournalWarning) => void, heldLock?: number): Journal {
    // The lock the caller took with lockStateDirectory, or ours; either way the journal owns it now.
    const lockFd = heldLock ?? lockStateDirectory(directory);
    try {
      const file = path.join(directory, 'journal.json');
      let state: JournalState = { nextTaskIdentifier: 1, tasks: [], undelivered: [] };
      let setAside: SetAside | undefined;
      const read = readJournalFile(file);
      if (read.text !== undefined) {
        try {
          state = parseJournal(read.text);
        } catch {
          read.unusable = 'was damaged';
        }
      }
      if (read.unusable !== undefined) {
        // A journal that cannot be used must never keep the session from opening: it is moved
        // aside, unread when it is not a regular file, and kept for inspection.
        setAside = { path: `${file}.corrupt-${Date.now()}`, reason: read.unusable };
        fs.renameSync(file, setAside.path);
      }
      removeLeftoverTemps(directory);
      const journal = new Journal(directory, lockFd, state, setAside);
      journal.#onWarning = onWarning;
      return journal;
    } catch (error) {
      binding.unlockFile(lockFd);
      if (error instanceof StateDirectoryError) throw error;
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      throw new StateDirectoryError(ErrorCodes.STATE_DIRECTORY, `cannot read the state directory ${directory} (${code}): ${(error as Error).message}`);
    }
  }

  get state(): Readonly<JournalState> {
    return this.#state;
  }

  setNextTaskIdentifier(next: number): void {
    if (next !== this.#state.nextTaskIdentifier) {
      this.#state.nextTaskIdentifier = next;
      this.#markDirty();
    }
  }

  upsertTask(task: JournaledTask): void {
    const index = this.#state.tasks.findIndex((t) => t.taskIdentifier === task.taskIdentifier);
    if (index >= 0) this.#state.tasks[index] = task;
    else this.#state.tasks.push(task);
    this.#markDirty();
  }

  /** The engine finished a task: it leaves the task list and waits for delivery. Written at once. */
  complete(completion: JournaledCompletion): void {
    this.#state.tasks = this.#state.tasks.filter((t) => t.taskIdentifier !== completion.taskIdentifier);
    this.#state.undelivered.push(completion);
    this.flush();
  }

  delivered(taskIdentifier: number): void {
    this.#state.undelivered = this.#state.undelivered.filter((c) => c.taskIdentifier !== taskIdentifier);
    this.#markDirty();
  }

  removeTask(taskIdentifier: number): void {
    this.#state.tasks = this.#state.tasks.filter((t) => t.taskIdentifier !== taskIdentifier);
    this.#markDirty();
  }

  #markDirty(): void {
    this.#unwritten = true;
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    process.nextTick(() => this.flush());
  }

  /**
   * Writes now: temp file, fsync, rename, fsync the folder. Never throws: a write that fails (a
   * full disk, a read-only remount) loses nothing that is still to come. Events keep being
   * delivered from memory, the state is written again on the next change and by a retry timer,
   * and the first failure of an episode is reported once (onWarning) until a write succeeds.
   */
  flush(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    try {
      writeReplacing(this.#file, JSON.stringify({ version: VERSION, ...this.#state }));
    } catch (error) {
      this.#unwritten = true;
      this.writeFailed(this.#file, error, (code) =>
        `the journal could not be written (${code}): events are still delivered, and the journal is written again once the state folder takes writes`);
      return;
    }
    this.#unwritten = false;
    if (this.#failing) {
      this.#failing = false;
      this.#retryDelay = RETRY_MIN_MS;
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    fsyncDirectory(this.directory);
  }

  /**
   * A write into the state folder failed (the journal, or an upload body persistence.ts keeps
   * there). The first failure of an episode warns; the episode ends when the journal is written
   * again, and until then a retry timer keeps trying (unref'd: it never keeps the process alive).
   */
  writeFailed(file: string, error: unknown, message: (code: string) => string): void {
    if (this.#closed) return;
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    if (!this.#failing) {
      this.#failing = true;
      this.#onWarning?.({ message: message(code), path: file, code });
    }
    if (this.#retryTimer === undefined) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        if (this.#failing && !this.#closed) this.flush();
      }, this.#retryDelay);
      this.#retryTimer.unref();
      this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
    }
  }

  /** Forgets every task and removes the journal (reset). The lock stays. */
  clear(): void {
    this.#state = { nextTaskIdentifier: this.#state.nextTaskIdentifier, tasks: [], undelivered: [] };
    this.#unwritten = false;
    fs.rmSync(this.#file, { force: true });
  }

  /**
   * Writes what is pending and releases the lock. The lock file itself stays: deleting it would
   * reopen the race the OS lock closes. A process that opened the file just before the unlink
   * holds a descriptor of the old, now nameless file; once we close ours it gets the lock on
   * that file, while the next process creates a new file under the name and locks that one:
   * two owners. With one file that is never deleted, every contender locks the same file.
   */
  close(removeJournal: boolean): void {
    if (this.#closed) return;
    if (removeJournal) {
      try {
        fs.rmSync(this.#file, { force: true });
      } catch (error) {
        // Called while the session is invalidated: report, never throw into its event dispatch.
        const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
        this.#onWarning?.({ message: `the journal could not be removed (${code}): a later process may resume its tasks`, path: this.#file, code });
      }
    } else if (this.#unwritten) {
      this.flush();
    }
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    binding.unlockFile(this.#lockFd);
  }
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
    for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw error;
  }
  fs.closeSync(fd);
}

// Replaces `file` crash-safely: a fresh temp file with a random name next to it (the temp
// file's one job is to hold the new content until the rename makes it the file), fsync, rename
// over `file`. On failure the temp file is removed and the error thrown. JS thread.
function writeReplacing(file: string, text: string): void {
  const temp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  const bytes = Buffer.from(text);
  const fd = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    try {
      for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

// Makes the rename durable. O_DIRECTORY: anything but a folder is refused at open (no FIFO can
// make this wait). Some file systems cannot fsync a folder; the rename is still atomic.
function fsyncDirectory(directory: string): void {
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

// Temp files of writes a dead process never renamed. Only called with the lock held, so no
// other session is writing one right now. Best effort: tidying up never keeps the session from
// opening.
function removeLeftoverTemps(directory: string): void {
  try {
    for (const name of fs.readdirSync(directory)) {
      if (TEMP_NAME.test(name)) fs.rmSync(path.join(directory, name), { force: true });
    }
  } catch {
    // left for the next open
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

// journal.json's text, or why it is unusable, or neither when there is none. O_NOFOLLOW: a
// symlink is not followed (ELOOP); O_NONBLOCK: opening a FIFO does not wait for a writer;
// fstat: only a regular file is read, so nothing here can block the JS thread. Other errors
// (EACCES) are thrown. JS thread.
function readJournalFile(file: string): { text?: string; unusable?: string } {
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
    return { text: fs.readFileSync(fd, 'utf8') };
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

/** Reads a session's journal without opening the session (no lock, nothing resumed, nothing moved). */
export function peekJournal(directory: string): JournalState | undefined {
  try {
    const read = readJournalFile(path.join(directory, 'journal.json'));
    return read.text === undefined ? undefined : parseJournal(read.text);
  } catch {
    return undefined;
  }
}

function parseJournal(text: string): JournalState {
  const parsed = JSON.parse(text) as Partial<JournalState> & { version?: number };
  if (parsed.version !== VERSION || !Array.isArray(parsed.tasks) || !Array.isArray(parsed.undelivered) ||
      typeof parsed.nextTaskIdentifier !== 'number') {
    throw new Error('unknown journal format');
  }
  for (const task of parsed.tasks) {
    if (typeof task.taskIdentifier !== 'number' || typeof task.url !== 'string' || !['download', 'upload', 'data'].includes(task.kind)) {
      throw new Error('damaged task entry');
    }
  }
  return { nextTaskIdentifier: parsed.nextTaskIdentifier, tasks: parsed.tasks, undelivered: parsed.undelivered };
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
      const owner = result.holder === 0 ? 'another session' : `process ${result.holder}${result.holder === process.pid ? ' (this process)' : ''}`;
      throw new StateDirectoryError(ErrorCodes.SESSION_LOCKED, `${owner} owns this session's state directory (${directory})`);
    }
    case 'not-regular':
      throw new StateDirectoryError(ErrorCodes.STATE_DIRECTORY, `cannot lock the state directory: ${lock} is not a regular file`);
    case 'not-owner':
      throw new StateDirectoryError(ErrorCodes.STATE_DIRECTORY, `cannot lock the state directory: ${lock} belongs to another user`);
    default:
      throw new StateDirectoryError(ErrorCodes.STATE_DIRECTORY, `cannot lock the state directory (${errnoName(result.errno)}): ${lock}`);
  }
}

/** 'ELOOP' for 40 on Linux; the number itself when the platform has no name for it. */
function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(os.constants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}
