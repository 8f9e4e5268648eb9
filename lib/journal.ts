// The journal of a persistent session: what it must finish or deliver after the process dies.
// An append-only log (`journal.log`, records of lib/journal-records.ts): every change is one
// line written at once, so the cost per change is constant at any number of tasks, and a change
// made before a call returns survives the process being killed right after. The log's data is
// fsynced once per tick (power loss can take the last tick); when it has grown past twice the
// state it holds it is compacted, crash-safely (a new file, fsync, rename). JS thread only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { binding } from './binding';
import { ErrorCodes } from './errors';
import {
  applyRecord,
  emptyState,
  encodeRecord,
  snapshotRecords,
  toPlainState,
  type JournalState,
  type JournaledCompletion,
  type JournaledTask,
  type LiveState,
  type LogRecord,
  type TaskPatch,
} from './journal-records';
import { LEGACY_FILE, LOG_FILE, readJournal, removeLeftoverTemps, type SetAside } from './journal-files';
import { StateDirectoryError, lockStateDirectory, writeAll, writeReplacing } from './state-directory';
import { WriteFailures, type JournalWarning } from './write-failures';

export type { JournalState, JournaledCompletion, JournaledTask, TaskPatch } from './journal-records';
export { peekJournal, type SetAside } from './journal-files';
export type { JournalWarning } from './write-failures';

const { O_WRONLY, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/** The log is compacted when it has grown by more than this and by more than the state it holds. */
const COMPACT_MIN_BYTES = 1024 * 1024;

export class Journal {
  readonly directory: string;
  readonly #file: string;
  /** The descriptor that holds the session's lock (native/core/file_lock.h) until close(). */
  readonly #lockFd: number;
  #state: LiveState;
  /** The log, open for appending; -1 until it exists (or after a failed write). */
  #fd = -1;
  /** The log's length up to its last complete record. */
  #length = 0;
  /** Bytes of the last compaction: the log is compacted when it has grown by more. */
  #compactedLength = 0;
  /** Bytes handed to the kernel for the log, appends and compactions (RELIABILITY.md's figure). */
  #bytesWritten = 0;
  /** Records were appended since the last fsync. */
  #unsynced = false;
  #syncScheduled = false;
  /** An append failed: the log on disk misses changes, so only a whole rewrite repairs it. */
  #needsRewrite = false;
  #closed = false;
  #onWarning: ((warning: JournalWarning) => void) | undefined;
  /** Writes into the folder that failed since the last journal write succeeded. */
  readonly #failures = new WriteFailures(
    (warning) => this.#onWarning?.(warning),
    () => {
      if (this.#closed) return;
      this.#needsRewrite = true;
      this.flush();
    },
  );
  /** Set when an unusable journal was set aside at open (a warning for the app). */
  readonly setAside: SetAside | undefined;

  private constructor(directory: string, lockFd: number, state: LiveState, setAside: SetAside | undefined) {
    this.directory = directory;
    this.#file = path.join(directory, LOG_FILE);
    this.#lockFd = lockFd;
    this.#state = state;
    this.setAside = setAside;
  }

  /**
   * Takes the lock and reads the journal. Throws a coded StateDirectoryError when it cannot own
   * the folder. `onWarning` hears of writes that fail later.
   */
  static open(directory: string, onWarning?: (warning: JournalWarning) => void, heldLock?: number): Journal {
    // The lock the caller took with lockStateDirectory, or ours; either way the journal owns it now.
    const lockFd = heldLock ?? lockStateDirectory(directory);
    try {
      const { state, setAside, rewrite, append } = readJournal(directory);
      removeLeftoverTemps(directory);
      // A journal.json beside a readable log: a migration the previous process did not finish removing.
      if (!rewrite && append !== undefined) fs.rmSync(path.join(directory, LEGACY_FILE), { force: true });
      const journal = new Journal(directory, lockFd, state, setAside);
      journal.#onWarning = onWarning;
      if (rewrite) {
        // A migrated, torn or damaged log is restated whole at once: appends go to a clean file.
        try {
          journal.#rewrite();
          fs.rmSync(path.join(directory, LEGACY_FILE), { force: true });
        } catch (error) {
          journal.#needsRewrite = true;
          journal.#reportFailure(error);
        }
      } else if (append !== undefined) {
        journal.#length = append;
        journal.#compactedLength = append;
      }
      return journal;
    } catch (error) {
      binding.unlockFile(lockFd);
      if (error instanceof StateDirectoryError) throw error;
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      throw new StateDirectoryError(
        ErrorCodes.STATE_DIRECTORY,
        `cannot read the state directory ${directory} (${code}): ${(error as Error).message}`,
      );
    }
  }

  get nextTaskIdentifier(): number {
    return this.#state.nextTaskIdentifier;
  }

  get tasks(): ReadonlyMap<number, JournaledTask> {
    return this.#state.tasks;
  }

  get undelivered(): ReadonlyMap<number, JournaledCompletion> {
    return this.#state.undelivered;
  }

  /** The state as plain arrays (tests, the CLI). */
  get state(): JournalState {
    return toPlainState(this.#state);
  }

  /** Bytes written for the log so far by this process (appends and compactions). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Identifiers below `next` may be handed out: never to be given again. */
  reserve(next: number): void {
    if (next > this.#state.nextTaskIdentifier) this.#append({ next });
  }

  upsertTask(task: JournaledTask): void {
    this.#append({ task });
  }

  patchTask(taskIdentifier: number, fields: TaskPatch): void {
    if (this.#state.tasks.has(taskIdentifier)) this.#append({ patch: taskIdentifier, fields });
  }

  /** The engine finished a task: it leaves the task list and waits for delivery. */
  complete(completion: JournaledCompletion): void {
    this.#append({ done: completion });
  }

  delivered(taskIdentifier: number): void {
    if (this.#state.undelivered.has(taskIdentifier)) this.#append({ delivered: taskIdentifier });
  }

  /** A task that never started after all (its partial file could not be made). */
  removeTask(taskIdentifier: number): void {
    if (this.#state.tasks.has(taskIdentifier)) this.#append({ remove: taskIdentifier });
  }

  // The change is applied in memory first (events keep flowing from memory whatever the disk
  // does), then written as one line. A write that fails (a full disk) is cut back to the last
  // whole record so the log stays readable, and the state is rewritten whole later.
  #append(record: LogRecord): void {
    applyRecord(this.#state, record);
    if (this.#closed) return;
    if (!this.#needsRewrite) {
      try {
        if (this.#fd < 0 && fs.lstatSync(this.#file, { throwIfNoEntry: false }) === undefined) {
          // The first change of a new log: the log is written whole, this change included.
          this.#rewrite();
        } else {
          if (this.#fd < 0) this.#openLog();
          const bytes = encodeRecord(record);
          writeAll(this.#fd, bytes);
          this.#length += bytes.length;
          this.#bytesWritten += bytes.length;
          this.#unsynced = true;
        }
      } catch (error) {
        this.#cutBack();
        this.#needsRewrite = true;
        this.#reportFailure(error);
      }
    }
    this.#scheduleSync();
  }

  // Opens the log for appending. O_APPEND|O_NOFOLLOW|O_NONBLOCK: nothing planted at the name is
  // followed or waited on; fstat: only a regular file is appended to. Throws.
  #openLog(): void {
    const fd = fs.openSync(this.#file, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK);
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      fs.closeSync(fd);
      throw Object.assign(new Error(`${this.#file} is not a regular file`), { code: 'EINVAL' });
    }
    this.#fd = fd;
    this.#length = st.size;
  }

  #cutBack(): void {
    if (this.#fd < 0) return;
    try {
      fs.ftruncateSync(this.#fd, this.#length);
    } catch {
      // the rewrite replaces the file anyway
    }
  }

  #scheduleSync(): void {
    if (this.#syncScheduled || this.#closed) return;
    this.#syncScheduled = true;
    process.nextTick(() => this.flush());
  }

  /**
   * Makes what was appended durable (one fdatasync), or rewrites the log whole when an append
   * failed or the log has grown past twice its state. Never throws.
   */
  flush(): void {
    this.#syncScheduled = false;
    if (this.#closed) return;
    try {
      if (
        this.#needsRewrite ||
        this.#length - this.#compactedLength > Math.max(COMPACT_MIN_BYTES, this.#compactedLength)
      ) {
        this.#rewrite();
      } else if (this.#unsynced && this.#fd >= 0) {
        fs.fdatasyncSync(this.#fd);
        this.#unsynced = false;
      }
    } catch (error) {
      this.#needsRewrite = true;
      this.#reportFailure(error);
    }
  }

  // The whole state into a new log, renamed over the old one; appends continue in the new file.
  // Throws (the old log and its descriptor are then as they were).
  #rewrite(): void {
    const written = writeReplacing(this.#file, snapshotRecords(this.#state));
    this.#bytesWritten += written;
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
    this.#needsRewrite = false;
    this.#unsynced = false;
    this.#openLog();
    this.#compactedLength = this.#length;
    this.#failures.succeeded();
  }

  #reportFailure(error: unknown): void {
    this.writeFailed(
      this.#file,
      error,
      (code) =>
        `the journal could not be written (${code}): events are still delivered, and the journal is written again once the state folder takes writes`,
    );
  }

  /**
   * A write into the state folder failed (the journal, or an upload body persistence.ts keeps
   * there). The first failure of an episode warns; the episode ends when the journal is written
   * again, and until then a retry timer keeps trying (unref'd: it never keeps the process alive).
   */
  writeFailed(file: string, error: unknown, message: (code: string) => string): void {
    if (!this.#closed) this.#failures.failed(file, error, message);
  }

  /** Forgets every task (reset); the numbering goes on. The lock stays. */
  clear(): void {
    this.#state = emptyState(this.#state.nextTaskIdentifier);
    this.#needsRewrite = true;
    this.flush();
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
        this.#onWarning?.({
          message: `the journal could not be removed (${code}): a later process may resume its tasks`,
          path: this.#file,
          code,
        });
      }
    } else {
      this.flush();
    }
    this.#closed = true;
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
    this.#failures.stop();
    binding.unlockFile(this.#lockFd);
  }
}
