// What runs behind a Session's public methods (lib/session.ts, which checks their arguments):
// the native engine session and what stands on it (lib/session-setup.ts), the task table, the
// event router and the task launcher wired together; the session's state (active, invalidating,
// invalidated), reset/flush tokens, the controls of promise-API Tasks, and the stop at process
// exit. JS thread only; engine batches reach it through the bridge's callback on that thread.
import type { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import { binding } from './binding';
import type { SessionConfiguration } from './configuration';
import { invalidatedError, NSURLError } from './errors';
import { EventRouter } from './event-router';
import { stopAtExit } from './exit-cleanup';
import { Fanout, runListener } from './listeners';
import { packTaskRequest } from './native-constants';
import type { NativeSession, NativeTaskRequest } from './native';
import { decodeEvents } from './native-events';
import { removeOwnPartial } from './partial-files';
import type { SessionPersistence } from './persistence';
import { ensurePrivateDirectory } from './private-directory';
import { reattach } from './reattach';
import type { PromiseRequest, TaskRequest } from './requests';
import { abandonRetries, scheduleRetry } from './retry-scheduler';
import { openSessionParts } from './session-setup';
import { Task, type AnyTask, type TaskControls } from './task';
import type { DownloadResult, RequestResult, StreamResult } from './task-types';
import type { TaskCounter } from './task-counter';
import { TaskLauncher } from './task-launcher';
import { newTaskRecord, taskInfo, type TaskInfo, type TaskRecord } from './task-table';

const debug = debuglog('urlsession');

export type SessionState = 'active' | 'invalidating' | 'invalidated';

export class SessionRuntime {
  readonly identifier: string;
  readonly #configuration: SessionConfiguration;
  /** The public Session: its events, and its listeners dropped once invalidated. */
  readonly #emitter: EventEmitter;
  readonly #onInvalidated: () => void;
  #native: NativeSession;
  #state: SessionState = 'active';
  #nextTaskIdentifier = 1;
  #nextToken = 1;
  #tasks = new Map<number, TaskRecord>();
  #waiters = new Map<number, () => void>();
  #persistence: SessionPersistence | undefined;
  #fanout: Fanout;
  #router: EventRouter;
  #launcher: TaskLauncher;
  #counter: TaskCounter | undefined;
  /** System background sessions: the state folder's lock, held until 'invalidated'. */
  #systemLock: number | undefined;
  #downloadDirectoryChecked = false;

  /** `emitter` is the Session; `hub` the module-wide emitter; `onInvalidated` runs before 'invalidated' is emitted. */
  constructor(
    configuration: SessionConfiguration,
    emitter: EventEmitter,
    hub: EventEmitter,
    onInvalidated: () => void,
  ) {
    this.identifier = configuration.identifier;
    this.#configuration = configuration;
    this.#emitter = emitter;
    this.#onInvalidated = onInvalidated;
    this.#fanout = new Fanout(emitter, hub);
    this.#router = this.#newRouter();
    this.#launcher = this.#newLauncher();
    const parts = openSessionParts(
      configuration,
      // Nothing may escape this callback: Node 20 drops exceptions thrown from a native
      // thread-safe function's call, and the rest of the batch with them.
      (numbers, text, bodies) => runListener(() => this.#router.receive(decodeEvents(numbers, text, bodies))),
      // Deferred: a failed write can happen inside the app's own call (uploadTask writes the
      // body), and listeners never run inside the caller's stack.
      (warning) =>
        process.nextTick(() => this.#fanout.emit('warning', { sessionIdentifier: this.identifier, ...warning })),
    );
    this.#native = parts.native;
    this.#persistence = parts.persistence;
    this.#systemLock = parts.systemLock;
    this.#counter = parts.counter;
    this.#nextTaskIdentifier = parts.nextTaskIdentifier;
    debug('session %s created (engine %s)', this.identifier, binding.engine);
    if (this.#persistence !== undefined) {
      reattach(this.#persistence, {
        identifier: this.identifier,
        tasks: this.#tasks,
        fanout: this.#fanout,
        start: (request, taskDescription) => this.#launcher.restart(request, taskDescription),
        deliver: (events) => this.#router.receive(events),
      });
    }
    if (this.backgroundMode === 'none') stopAtExit(this, SessionRuntime.#stopForExit);
  }

  // Process 'exit' (lib/exit-cleanup.ts), plain sessions only: running downloads and those
  // waiting to retry remove their partial files. Resume data already handed out keeps its file.
  static #stopForExit(runtime: SessionRuntime): void {
    runtime.#native.stopForExit();
    for (const { retryTimer, request } of runtime.#tasks.values()) {
      if (retryTimer !== undefined) removeOwnPartial(request?.resumePartialPath, request?.resumeIdentity);
    }
  }

  get backgroundMode(): 'emulated' | 'system' | 'none' {
    if (this.#native.usesSystemBackground) return 'system';
    return this.#persistence === undefined ? 'none' : 'emulated';
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Throws the coded error of a call on a session that no longer takes work. */
  ensureActive(): void {
    if (this.#state !== 'active') throw invalidatedError(this.identifier);
  }

  taskInfos(): TaskInfo[] {
    return [...this.#tasks].map(([taskIdentifier, record]) => taskInfo(taskIdentifier, record));
  }

  // The per-user default download folder must be a private folder of ours before anything is
  // written into it (another local user may have made it first); checked once per session.
  checkDownloadDirectory(directory: string): void {
    const configuration = this.#configuration;
    if (
      this.#downloadDirectoryChecked ||
      !configuration.usesDefaultDownloadDirectory ||
      directory !== configuration.downloadDirectory
    )
      return;
    ensurePrivateDirectory(directory);
    this.#downloadDirectoryChecked = true;
  }

  /** A Titanium task: starts at once; returns its identifier. */
  start(parsed: TaskRequest): number {
    return this.#launcher.start(parsed);
  }

  /** A promise-API task: its Task, which gets the identifier the launcher takes next. */
  startTask<R extends DownloadResult | RequestResult | StreamResult>(parsed: PromiseRequest): Task<R> {
    const { options } = parsed;
    const task = Task.create<R>(
      {
        taskIdentifier: this.#nextTaskIdentifier,
        taskDescription: options.taskDescription,
        kind: parsed.kind,
        url: parsed.request.url,
        method: parsed.request.method,
        throwHttpErrors: options.throwHttpErrors,
        signal: options.signal,
        retry: options.retry,
        stream: options.stream,
        resumeTemplate: parsed.resumeTemplate,
      },
      this.#taskControls,
    );
    // Task<R> is one of AnyTask's members; TypeScript cannot narrow a generic to a union member.
    this.#launcher.start(parsed, task as unknown as AnyTask);
    return task;
  }

  /**
   * A speed limit (bytes per second, 0: none, already checked): the session's when
   * taskIdentifier is 0, else a task's, kept for its retries and for a task whose body is still
   * being read. False when the task is unknown or already completed.
   */
  setSpeedLimit(taskIdentifier: number, bytesPerSecond: number): boolean {
    if (taskIdentifier === 0) {
      if (this.#state !== 'invalidated') this.#native.setSpeedLimit(0, bytesPerSecond);
      return true;
    }
    const record = this.#tasks.get(taskIdentifier);
    if (record === undefined) return false;
    record.speedLimit = bytesPerSecond;
    if (record.request !== undefined) record.request.maximumBytesPerSecond = bytesPerSecond;
    this.#whenStarted(taskIdentifier, () => this.#native.setSpeedLimit(taskIdentifier, bytesPerSecond));
    return true;
  }

  /** False when the task is unknown or already completed. */
  cancel(taskIdentifier: number): boolean {
    const record = this.#tasks.get(taskIdentifier);
    if (record === undefined) return false;
    debug('task %d of %s cancelled', taskIdentifier, this.identifier);
    if (record.starting || record.waiting === true || record.retryTimer !== undefined)
      this.#launcher.completeUnstarted(taskIdentifier, NSURLError.Cancelled);
    else this.#native.cancelTask(taskIdentifier);
    return true;
  }

  finishTasksAndInvalidate(): void {
    this.#state = 'invalidating';
    debug('session %s finishing tasks and invalidating', this.identifier);
    abandonRetries(this.#tasks.values(), (failure) => process.nextTick(() => this.#router.receive([failure])));
    // Tasks whose Blob body is still being read, and tasks waiting for a place, count as
    // existing tasks: the engine takes no task after finishTasksAndInvalidate, so they start first.
    const launcher = this.#launcher;
    if (launcher.pending.size > 0 || launcher.hasWaiting()) {
      void Promise.allSettled([...launcher.pending])
        .then(() => launcher.whenQueueEmpty())
        .then(() => this.#native.finishTasksAndInvalidate());
    } else {
      this.#native.finishTasksAndInvalidate();
    }
  }

  invalidateAndCancel(): void {
    this.#state = 'invalidating';
    debug('session %s invalidating and cancelling', this.identifier);
    for (const [id, record] of this.#tasks) {
      if (record.starting || record.waiting === true || record.retryTimer !== undefined)
        this.#launcher.completeUnstarted(id, NSURLError.Cancelled);
    }
    this.#native.invalidateAndCancel();
  }

  /** reset() or flush(): `done` runs when the engine reports it finished. */
  tokenCall(kind: 'reset' | 'flush', done: () => void): void {
    const token = this.#nextToken++;
    this.#waiters.set(token, done);
    if (kind === 'reset') {
      this.#persistence?.reset(new Set(this.#tasks.keys()));
      this.#native.reset(token);
    } else this.#native.flush(token);
  }

  #startNative(request: NativeTaskRequest, taskDescription: string): void {
    this.#native.startTask(packTaskRequest(request, taskDescription));
  }

  #whenStarted(taskIdentifier: number, call: () => void): void {
    const record = this.#tasks.get(taskIdentifier);
    if (record !== undefined && !record.starting && record.retryTimer === undefined && this.#state !== 'invalidated')
      call();
  }

  // suspend()/resume() of a task still waiting for a place: it starts suspended, or not.
  #whenWaiting(taskIdentifier: number, suspended: boolean): boolean {
    const record = this.#tasks.get(taskIdentifier);
    if (record?.waiting !== true) return false;
    record.suspendWhenAdmitted = suspended;
    return true;
  }

  // One set of controls for all of this session's tasks (they pass their identifier).
  readonly #taskControls: TaskControls = {
    cancel: (id) => this.cancel(id),
    suspend: (id) => this.#whenWaiting(id, true) || this.#whenStarted(id, () => this.#native.suspendTask(id)),
    resume: (id) => this.#whenWaiting(id, false) || this.#whenStarted(id, () => this.#native.resumeTask(id)),
    acknowledge: (id, bytes) => this.#whenStarted(id, () => this.#native.acknowledgeBody(id, bytes)),
    setSpeedLimit: (id, bytesPerSecond) => void this.setSpeedLimit(id, bytesPerSecond),
  };

  // What the task launcher needs of this session (lib/task-launcher.ts).
  #newLauncher(): TaskLauncher {
    const persistence = (): SessionPersistence | undefined => this.#persistence;
    return new TaskLauncher({
      identifier: this.identifier,
      tasks: this.#tasks,
      get persistence() {
        return persistence();
      },
      downloadDirectory: this.#configuration.downloadDirectory,
      takeIdentifier: () => {
        const taskIdentifier = this.#nextTaskIdentifier++;
        this.#counter?.taken(this.#nextTaskIdentifier);
        return taskIdentifier;
      },
      maximumConcurrentTasks: this.#configuration.maximumConcurrentTasks,
      isInvalidated: () => this.#state === 'invalidated',
      startNative: (request, taskDescription) => this.#startNative(request, taskDescription),
      suspendNative: (taskIdentifier) => this.#native.suspendTask(taskIdentifier),
      deliver: (events) => this.#router.receive(events),
    });
  }

  // What the event router needs of this session (lib/event-router.ts).
  #newRouter(): EventRouter {
    const persistence = (): SessionPersistence | undefined => this.#persistence;
    return new EventRouter({
      identifier: this.identifier,
      tasks: this.#tasks,
      get persistence() {
        return persistence();
      },
      fanout: this.#fanout,
      isActive: () => this.#state === 'active',
      retry: (taskIdentifier, record, failure, delayMs) => {
        debug(
          'task %d of %s: retry in %d ms (error %d, status %d)',
          taskIdentifier,
          this.identifier,
          delayMs,
          failure.errorCode ?? 0,
          failure.statusCode ?? 0,
        );
        scheduleRetry(
          record,
          failure,
          delayMs,
          () => this.#tasks.get(taskIdentifier) === record && this.#state === 'active',
          (request) => this.#startNative(request, record.taskDescription),
        );
      },
      recovered: (taskIdentifier, kind, url, taskDescription) => {
        // nsurlsessiond kept this task of an earlier process: adopt it and keep numbering past it.
        if (!this.#tasks.has(taskIdentifier))
          this.#tasks.set(taskIdentifier, newTaskRecord(kind, url, taskDescription));
        this.#nextTaskIdentifier = Math.max(this.#nextTaskIdentifier, taskIdentifier + 1);
        this.#counter?.taken(this.#nextTaskIdentifier);
      },
      tokenCompleted: (token) => {
        const waiter = this.#waiters.get(token);
        this.#waiters.delete(token);
        if (waiter !== undefined) runListener(waiter);
      },
      invalidated: () => this.#invalidated(),
      ended: (record) => this.#launcher.ended(record),
    });
  }

  // The engine's SessionInvalidated: every task has ended and been delivered.
  #invalidated(): void {
    this.#state = 'invalidated';
    this.#native.close();
    // Nothing is left to resume.
    this.#persistence?.close();
    if (this.#systemLock !== undefined) binding.unlockFile(this.#systemLock);
    this.#systemLock = undefined;
    this.#onInvalidated();
    debug('session %s invalidated', this.identifier);
    this.#fanout.emit('invalidated', { sessionIdentifier: this.identifier });
    // As in Titanium: once invalidated, the session drops its listeners.
    this.#emitter.removeAllListeners();
  }
}
