// The journal of a persistent session: what it must finish or deliver after the process dies.
// One JSON document per session, replaced crash-safely (write a temp file, fsync, rename,
// fsync the folder). An OS lock on the folder's lock file makes one session the owner of an
// identifier at a time. JS thread only; writes are coalesced to one per tick.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { binding } from './binding';
import { ErrorCodes } from './errors';

const VERSION = 1;

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
}

export interface JournalState {
  nextTaskIdentifier: number;
  tasks: JournaledTask[];
  undelivered: JournaledCompletion[];
}

export class StateDirectoryError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'StateDirectoryError';
    this.code = code;
  }
}

/** The per-user default: $XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS. */
export function defaultStateDirectory(identifier: string): string {
  const base =
    process.platform === 'darwin'
      ? path.join(os.homedir(), 'Library', 'Caches')
      : process.env.XDG_CACHE_HOME && path.isAbsolute(process.env.XDG_CACHE_HOME)
        ? process.env.XDG_CACHE_HOME
        : path.join(os.homedir(), '.cache');
  return path.join(base, 'urlsession', folderNameFor(identifier));
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
  #dirty = false;
  #closed = false;
  /** Set when an unreadable journal was set aside at open (a warning for the app). */
  readonly setAside: string | undefined;

  private constructor(directory: string, lockFd: number, state: JournalState, setAside: string | undefined) {
    this.directory = directory;
    this.#file = path.join(directory, 'journal.json');
    this.#lockFd = lockFd;
    this.#state = state;
    this.setAside = setAside;
  }

  /** Takes the lock and reads the journal. Throws a coded StateDirectoryError when it cannot own the folder. */
  static open(directory: string): Journal {
    try {
      fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new StateDirectoryError(ErrorCodes.STATE_DIRECTORY, `cannot create the state directory ${directory}: ${(error as Error).message}`);
    }
    const lockFd = takeLock(directory);
    try {
      const file = path.join(directory, 'journal.json');
      let state: JournalState = { nextTaskIdentifier: 1, tasks: [], undelivered: [] };
      let setAside: string | undefined;
      if (fs.existsSync(file)) {
        try {
          state = parseJournal(fs.readFileSync(file, 'utf8'));
        } catch {
          // A damaged journal must never keep the session from opening: keep it for inspection.
          setAside = `${file}.corrupt-${Date.now()}`;
          fs.renameSync(file, setAside);
        }
      }
      return new Journal(directory, lockFd, state, setAside);
    } catch (error) {
      binding.unlockFile(lockFd);
      throw error;
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
    if (this.#dirty || this.#closed) return;
    this.#dirty = true;
    process.nextTick(() => this.flush());
  }

  /** Writes now: temp file, fsync, rename, fsync the folder. */
  flush(): void {
    this.#dirty = false;
    if (this.#closed) return;
    const temp = `${this.#file}.tmp`;
    const fd = fs.openSync(temp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify({ version: VERSION, ...this.#state }));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, this.#file);
    try {
      const dir = fs.openSync(this.directory, 'r');
      fs.fsyncSync(dir);
      fs.closeSync(dir);
    } catch {
      // Some file systems cannot fsync a folder; the rename is still atomic.
    }
  }

  /** Forgets every task and removes the journal (reset). The lock stays. */
  clear(): void {
    this.#state = { nextTaskIdentifier: this.#state.nextTaskIdentifier, tasks: [], undelivered: [] };
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
    if (removeJournal) fs.rmSync(this.#file, { force: true });
    else if (this.#dirty) this.flush();
    this.#closed = true;
    binding.unlockFile(this.#lockFd);
  }
}

/** Reads a session's journal without opening the session (no lock, nothing resumed). */
export function peekJournal(directory: string): JournalState | undefined {
  try {
    return parseJournal(fs.readFileSync(path.join(directory, 'journal.json'), 'utf8'));
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
