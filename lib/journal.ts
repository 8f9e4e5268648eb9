// The journal of a persistent session: what it must finish or deliver after the process dies.
// One JSON document per session, replaced crash-safely (write a temp file, fsync, rename,
// fsync the folder). A lock file makes one process the owner of an identifier at a time.
// JS thread only; writes are coalesced to one per tick.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Journal {
  readonly directory: string;
  #file: string;
  #lock: string;
  #state: JournalState;
  #dirty = false;
  #closed = false;
  /** Set when an unreadable journal was set aside at open (a warning for the app). */
  readonly setAside: string | undefined;

  private constructor(directory: string, state: JournalState, setAside: string | undefined) {
    this.directory = directory;
    this.#file = path.join(directory, 'journal.json');
    this.#lock = path.join(directory, 'lock');
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
    takeLock(path.join(directory, 'lock'));
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
    return new Journal(directory, state, setAside);
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

  /** Writes what is pending and releases the lock. */
  close(removeJournal: boolean): void {
    if (this.#closed) return;
    if (removeJournal) fs.rmSync(this.#file, { force: true });
    else if (this.#dirty) this.flush();
    this.#closed = true;
    fs.rmSync(this.#lock, { force: true });
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

// O_EXCL lock file holding the owner's pid; a lock whose owner is gone is taken over.
function takeLock(lock: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lock, 'wx', 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new StateDirectoryError(ErrorCodes.STATE_DIRECTORY, `cannot lock the state directory (${code}): ${lock}`);
      }
      const owner = Number(fs.readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new StateDirectoryError(ErrorCodes.SESSION_LOCKED, `process ${owner} owns this session's state directory (${path.dirname(lock)})`);
      }
      fs.rmSync(lock, { force: true });  // stale: its process died without releasing it
    }
  }
  throw new StateDirectoryError(ErrorCodes.SESSION_LOCKED, `cannot take the lock ${lock}`);
}
