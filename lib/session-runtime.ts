// What runs behind a Session's public methods (lib/session.ts, which checks their arguments):
// the native engine session and what stands on it (lib/session-setup.ts), the task table, the
// event router, the task launcher and the task controls (lib/task-controls.ts) wired together;
// the session's state (active, invalidating, invalidated), reset/flush tokens, and the stop at
// process exit. JS thread only; engine batches reach it through the bridge's callback on that thread.
import type { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import { binding } from './binding';
import type { SessionConfiguration } from './configuration';
import { invalidatedError } from './errors';
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
import { SessionTaskControls } from './task-controls';
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
  #controls: SessionTaskControls;
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
    const native = (): NativeSession => this.#native; // made below, by openSessionParts
    this.#controls = new SessionTaskControls({
      tasks: this.#tasks,
      get native() {
        return native();
      },
      launcher: this.#launcher,
      isInvalidated: () => this.#state === 'invalidated',
    });
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

  /** False when the task is unknown or already completed (lib/task-controls.ts). */
  cancel(taskIdentifier: number): boolean {
    debug('task %d of %s cancelled', taskIdentifier, this.identifier);
    return this.#controls.cancel(taskIdentifier);
  }

  /** The session's speed limit (taskIdentifier 0) or a task's; false for an unknown task. */
  setSpeedLimit(taskIdentifier: number, bytesPerSecond: number): boolean {
    return this.#controls.setSpeedLimit(taskIdentifier, bytesPerSecond);
  }

  finishTasksAndInvalidate(): void {
    this.#state = 'invalidating';
    debug('session %s finishing tasks and invalidating', this.identifier);
    abandonRetries(this.#tasks.values(), (failure) => process.nextTick(() => this.#router.receive([failure])));
    // Tasks whose Blob body is still being read, and tasks waiting for a place, count as
    // existing tasks: the engine takes no task after finishTasksAndInvalidate, so they start first.
    const started = this.#launcher.whenAllStarted();
    if (started === undefined) this.#native.finishTasksAndInvalidate();
    else void started.then(() => this.#native.finishTasksAndInvalidate());
  }

  invalidateAndCancel(): void {
    this.#state = 'invalidating';
    debug('session %s invalidating and cancelling', this.identifier);
    this.#controls.cancelOutsideEngine();
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

  // One set of controls for all of this session's promise-API Tasks (they pass their identifier).
  readonly #taskControls: TaskControls = {
    cancel: (id) => this.cancel(id),
    suspend: (id) => this.#controls.suspend(id, true),
    resume: (id) => this.#controls.suspend(id, false),
    acknowledge: (id, bytes) => this.#controls.acknowledge(id, bytes),
    setSpeedLimit: (id, bytesPerSecond) => void this.#controls.setSpeedLimit(id, bytesPerSecond),
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
      writeBody: (taskIdentifier, chunk, end) => this.#native.writeBody(taskIdentifier, chunk, end),
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
