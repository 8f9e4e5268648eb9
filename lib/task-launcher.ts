// Starting a session's tasks: each gets the next identifier and a task-table record at once;
// its request reaches the journal (persistent sessions) and then the engine as soon as its body
// is ready (a Blob is read first; its identifier is reserved meanwhile so no later process gives
// it out again). With maximumConcurrentTasks, a task beyond the limit is journaled at once and
// waits (lib/task-queue.ts, by priority) until a running one ends. A task that never reaches the
// engine still completes, after the caller's stack. Knows nothing of the addon: the session hands
// it what it needs (LauncherHost). JS thread only.
import { debuglog } from 'node:util';
import type { EngineBody } from './body';
import { NSURLError } from './errors';
import type { NativeEvent, NativeTaskRequest } from './native';
import { EventType } from './native-constants';
import { sweepStalePartials } from './partial-sweep';
import { withBody, type TaskRequest } from './requests';
import type { AnyTask } from './task';
import { TaskQueue } from './task-queue';
import { newTaskRecord, type SessionCore, type TaskRecord } from './task-table';
import { DEFAULT_PRIORITY, redactUrl } from './validate';

const debug = debuglog('urlsession');

/** The session's side of starting tasks. */
export interface LauncherHost extends SessionCore {
  /** Where a download without a folder of its own goes. */
  readonly downloadDirectory: string;
  /** Tasks in the engine at once; 0: no limit. */
  readonly maximumConcurrentTasks: number;
  /** Takes the next task identifier. */
  takeIdentifier(): number;
  /** The session is invalidated: a body that becomes ready now starts nothing. */
  isInvalidated(): boolean;
  /** Hands a request to the engine. */
  startNative(request: NativeTaskRequest, taskDescription: string): void;
  /** Hands a piece of a task's streamed request body to the engine (native writeBody). */
  writeBody(taskIdentifier: number, chunk: Buffer | null, end: number): boolean;
  /** Suspends a task the engine has (one suspended while it waited). */
  suspendNative(taskIdentifier: number): void;
  /** Routes events as if the engine had sent them. */
  deliver(events: NativeEvent[]): void;
}

export class TaskLauncher {
  readonly #host: LauncherHost;
  /** Tasks whose body is still being read: they count as started for finishTasksAndInvalidate. */
  readonly #pending = new Set<Promise<void>>();
  /** Tasks waiting for a place under maximumConcurrentTasks. */
  // Records in turn order; one that stopped waiting (record.waiting unset) is skipped at its turn.
  readonly #queue = new TaskQueue<TaskRecord>();
  /** Records that wait (the queue may still hold ones that stopped). */
  #waiting = 0;
  /** Tasks handed to the engine and not yet ended. */
  #admitted = 0;
  /** Resolved once no task waits (finishTasksAndInvalidate lets the queue run out first). */
  #queueEmptied: (() => void)[] = [];

  constructor(host: LauncherHost) {
    this.#host = host;
  }

  /**
   * Resolves once every task made so far has reached the engine (its Blob body read, its place
   * under maximumConcurrentTasks taken); undefined when they all have already.
   */
  whenAllStarted(): Promise<void> | undefined {
    if (this.#pending.size === 0 && this.#waiting === 0) return undefined;
    return Promise.allSettled([...this.#pending]).then(() =>
      this.#waiting === 0 ? undefined : new Promise<void>((resolve) => this.#queueEmptied.push(resolve)),
    );
  }

  /** A task of an earlier process, taken up again (lib/reattach.ts): it queues like a new one. */
  restart(request: NativeTaskRequest, taskDescription: string): void {
    const record = this.#host.tasks.get(request.taskIdentifier);
    if (record !== undefined) this.#admitOrWait(request, record, taskDescription, DEFAULT_PRIORITY);
  }

  /** A task's record left the table (it completed): a waiting task may take its place. */
  ended(record: TaskRecord): void {
    this.#stopWaiting(record);
    if (record.admitted === true) {
      record.admitted = false;
      this.#admitted--;
    }
    this.#admitWaiting();
  }

  /** Starts a task; returns its identifier. `task`: the promise-API face, when there is one. */
  start({ kind, request, body, taskDescription, priority }: TaskRequest, task?: AnyTask): number {
    const host = this.#host;
    const taskIdentifier = host.takeIdentifier();
    const full: NativeTaskRequest = { ...request, taskIdentifier, priority };
    if (kind === 'download' && full.downloadDirectory === undefined) full.downloadDirectory = host.downloadDirectory;
    if (kind === 'download') void sweepStalePartials(full.downloadDirectory as string);
    const record = newTaskRecord(kind, request.url, task?.taskDescription ?? taskDescription, task);
    record.lastDownloadTotal = full.resumeOffset ?? 0; // download({ resumeData }): kept bytes
    host.tasks.set(taskIdentifier, record);
    if (body instanceof Promise) {
      record.starting = true;
      // The identifier is returned before the task is journaled (its body is still being read):
      // journaled now, it is never given to another task, whenever the process dies.
      host.persistence?.reserve(taskIdentifier);
      const pending: Promise<void> = body
        .then(
          (ready) => {
            if (host.tasks.get(taskIdentifier) !== record || host.isInvalidated()) return;
            record.starting = false;
            this.#launch(full, ready, priority);
          },
          (error: unknown) => this.completeUnstarted(taskIdentifier, NSURLError.CannotOpenFile, error),
        )
        .finally(() => this.#pending.delete(pending));
      this.#pending.add(pending);
    } else {
      this.#launch(full, body, priority);
    }
    return taskIdentifier;
  }

  #launch(request: NativeTaskRequest, ready: EngineBody, priority: number): void {
    const host = this.#host;
    const record = host.tasks.get(request.taskIdentifier);
    if (record?.task !== undefined) record.request = request;
    if (record?.speedLimit !== undefined) request.maximumBytesPerSecond = record.speedLimit;
    withBody(request, ready);
    if (record !== undefined && ready.stream !== undefined) record.bodyPump = ready.stream;
    // Redacting costs a regular expression per task: only when NODE_DEBUG asks for the line.
    if (debug.enabled)
      debug('task %d of %s: %s %s', request.taskIdentifier, host.identifier, request.method, redactUrl(request.url));
    if (host.persistence !== undefined && record !== undefined)
      host.persistence.prepare(request, record.taskDescription);
    if (record === undefined) return;
    this.#admitOrWait(request, record, record.taskDescription, priority);
  }

  #admitOrWait(request: NativeTaskRequest, record: TaskRecord, taskDescription: string, priority: number): void {
    const limit = this.#host.maximumConcurrentTasks;
    if (limit > 0 && this.#admitted >= limit) {
      record.waiting = { request, taskDescription };
      this.#waiting++;
      this.#queue.push(record, priority);
      return;
    }
    this.#admit(request, record, taskDescription);
  }

  #admit(request: NativeTaskRequest, record: TaskRecord, taskDescription: string): void {
    record.admitted = true;
    this.#admitted++;
    this.#host.startNative(request, taskDescription);
    const id = request.taskIdentifier;
    record.bodyPump?.start((chunk, end) => this.#host.writeBody(id, chunk, end));
    // Suspended while it waited: the engine takes the suspend before any byte moves.
    if (record.suspendWhenAdmitted === true) this.#host.suspendNative(request.taskIdentifier);
  }

  #admitWaiting(): void {
    const host = this.#host;
    const limit = host.maximumConcurrentTasks;
    while (!host.isInvalidated() && this.#waiting > 0 && (limit === 0 || this.#admitted < limit)) {
      const record = this.#queue.pop() as TaskRecord;
      const waiting = record.waiting;
      if (waiting === undefined) continue; // cancelled while it waited
      this.#stopWaiting(record);
      this.#admit(waiting.request, record, waiting.taskDescription);
    }
  }

  // The record no longer waits (admitted, cancelled or ended); the last one lets
  // finishTasksAndInvalidate go on.
  #stopWaiting(record: TaskRecord): void {
    if (record.waiting === undefined) return;
    record.waiting = undefined;
    if (--this.#waiting === 0) for (const resolve of this.#queueEmptied.splice(0)) resolve();
  }

  /**
   * A task that never reached the engine (or waits for a retry) still gets its sessioncompleted,
   * after the current call returns (listeners never run inside the caller's stack). `cause`:
   * the error that stopped it, for the promise API's TransferError.
   */
  completeUnstarted(taskIdentifier: number, errorCode: number, cause?: unknown): void {
    const record = this.#host.tasks.get(taskIdentifier);
    if (record === undefined) return;
    record.starting = false;
    this.#stopWaiting(record);
    record.cause = cause;
    if (record.retryTimer !== undefined) clearTimeout(record.retryTimer);
    record.retryTimer = undefined;
    record.pendingFailure = undefined;
    const message = errorCode === NSURLError.Cancelled ? 'cancelled' : 'The request body could not be read.';
    process.nextTick(() =>
      this.#host.deliver([{ type: EventType.TaskCompleted, taskIdentifier, errorCode, message, statusCode: 0 }]),
    );
  }
}
