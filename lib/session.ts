// Session: Titanium's session object (downloadTask, uploadTask, dataTask, invalidation,
// reset/flush) over one native engine session. JS-thread only, like everything in lib/.
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import { binding } from './binding';
import type { EngineBody } from './body';
import type { SessionConfiguration } from './configuration';
import { ErrorCodes, invalidatedError, NSURLError, typeError } from './errors';
import { EventRouter } from './event-router';
import { stopAtExit } from './exit-cleanup';
import { Fanout, runListener } from './listeners';
import { EventType, packTaskRequest } from './native-constants';
import type { NativeSession, NativeTaskRequest } from './native';
import { decodeEvents } from './native-events';
import { removeOwnPartial } from './partial-files';
import { sweepStalePartials } from './partial-sweep';
import { SessionPersistence } from './persistence';
import { ensurePrivateDirectory } from './private-directory';
import { reattach } from './reattach';
import { promiseData, promiseDownload, promiseUpload, titaniumData, titaniumDownload, titaniumUpload, withBody, type PromiseRequest, type TaskRequest } from './requests';
import { abandonRetries, scheduleRetry } from './retry-scheduler';
import { lockStateDirectory, StateDirectoryError } from './state-directory';
import { Task, type DownloadResult, type RequestResult, type StreamResult, type TaskControls } from './task';
import { TaskCounter } from './task-counter';
import { newTaskRecord, taskInfo, type TaskInfo, type TaskRecord } from './task-table';
import type { DownloadOptions, RequestOptions, UploadOptions } from './task-options';
import type {
  CompletedResult,
  DataTaskArguments,
  DownloadTaskArguments,
  UploadTaskArguments,
  URLSessionEventMap,
  URLSessionEventName,
} from './types';
import { redactUrl, validateNumber } from './validate';

export type { TaskInfo } from './task-table';

/** The most redirects NSURLSession follows (CFNetwork's own limit). */
export const APPLE_MAXIMUM_REDIRECTS = 20;

const debug = debuglog('urlsession');

type SessionState = 'active' | 'invalidating' | 'invalidated';

export class Session extends EventEmitter {
  /** The identifier of the configuration this session was created with. */
  readonly identifier: string;
  readonly configuration: SessionConfiguration;
  #native: NativeSession;
  #onInvalidated: (session: Session) => void;
  #state: SessionState = 'active';
  #nextTaskIdentifier = 1;
  #nextToken = 1;
  #tasks = new Map<number, TaskRecord>();
  #waiters = new Map<number, () => void>();
  #pendingStarts = new Set<Promise<void>>();
  #persistence: SessionPersistence | undefined;
  #fanout: Fanout;
  #router: EventRouter;
  #counter: TaskCounter | undefined;
  /** System background sessions: the state folder's lock, held until 'invalidated'. */
  #systemLock: number | undefined;
  #downloadDirectoryChecked = false;

  /** @internal Use createSession / createURLSession. */
  constructor(configuration: SessionConfiguration, hub: EventEmitter, onInvalidated: (session: Session) => void) {
    super();
    this.identifier = configuration.identifier;
    this.configuration = configuration;
    this.#onInvalidated = onInvalidated;
    this.#fanout = new Fanout(this, hub);
    this.#router = this.#newRouter();
    // CFNetwork stops after 20 redirects whatever the delegate says: a larger limit would be a
    // promise the Apple engine cannot keep (the curl engine can, and keeps it).
    if (binding.engine === 'apple' && configuration.maximumRedirects > APPLE_MAXIMUM_REDIRECTS) {
      throw typeError(ErrorCodes.INVALID_ARGUMENT, `maximumRedirects above ${APPLE_MAXIMUM_REDIRECTS} cannot be honoured by NSURLSession (macOS)`);
    }
    const stateDirectory = configuration.persistent ? configuration.stateDirectory : undefined;
    // Own the state folder before any engine exists (lock, owner and mode checks), in every mode:
    // the curl engine keeps its cookie jar there, and two processes must not both create the
    // NSURLSession of one background identifier either.
    let lockFd: number | undefined;
    if (stateDirectory !== undefined) {
      try {
        lockFd = lockStateDirectory(stateDirectory);
      } catch (error) {
        if (error instanceof StateDirectoryError) throw withStack(error);
        throw error;
      }
    }
    try {
      this.#native = new binding.NativeSession(configuration.toNative(), (numbers, text, bodies) =>
        // Nothing may escape this callback: Node 20 drops exceptions thrown from a native
        // thread-safe function's call, and the rest of the batch with them.
        runListener(() => this.#router.receive(decodeEvents(numbers, text, bodies))),
      );
    } catch (error) {
      if (lockFd !== undefined) binding.unlockFile(lockFd);
      throw error;
    }
    // With an OS background session (macOS, bundled app) nsurlsessiond keeps the work and the
    // session only holds the lock; our journal is the fallback everywhere else.
    if (stateDirectory !== undefined && !this.#native.usesSystemBackground) {
      try {
        this.#persistence = this.#openPersistence(stateDirectory, lockFd);
      } catch (error) {
        this.#native.close();
        throw error;
      }
    } else {
      this.#systemLock = lockFd;
    }
    if (this.#persistence !== undefined) this.#nextTaskIdentifier = Math.max(1, this.#persistence.nextTaskIdentifier);
    if (this.#native.usesSystemBackground && configuration.stateDirectory !== undefined) {
      try {
        this.#counter = new TaskCounter(configuration.stateDirectory);
      } catch (error) {
        this.#native.close();
        if (this.#systemLock !== undefined) binding.unlockFile(this.#systemLock);
        throw withStack(new StateDirectoryError(ErrorCodes.STATE_DIRECTORY, `cannot keep task identifiers in ${configuration.stateDirectory}: ${(error as Error).message}`));
      }
      this.#nextTaskIdentifier = this.#counter.first;
    }
    debug('session %s created (engine %s)', this.identifier, binding.engine);
    if (this.#persistence !== undefined) {
      reattach(this.#persistence, {
        identifier: this.identifier,
        tasks: this.#tasks,
        fanout: this.#fanout,
        start: (request, taskDescription) => this.#native.startTask(packTaskRequest(request, taskDescription)),
        deliver: (events) => this.#router.receive(events),
      });
    }
    if (this.backgroundMode === 'none') stopAtExit(this, Session.#stopForExit);
  }

  // Process 'exit' (lib/exit-cleanup.ts), plain sessions only: running downloads and those
  // waiting to retry remove their partial files. Resume data already handed out keeps its file.
  static #stopForExit(session: Session): void {
    session.#native.stopForExit();
    for (const { retryTimer, request } of session.#tasks.values()) {
      if (retryTimer !== undefined) removeOwnPartial(request?.resumePartialPath, request?.resumeIdentity);
    }
  }

  #openPersistence(stateDirectory: string, heldLock: number | undefined): SessionPersistence {
    try {
      // Deferred: a failed write can happen inside the app's own call (uploadTask writes the
      // body), and listeners never run inside the caller's stack.
      return new SessionPersistence(
        stateDirectory,
        (warning) => process.nextTick(() => this.#fanout.emit('warning', { sessionIdentifier: this.identifier, ...warning })),
        heldLock,
      );
    } catch (error) {
      if (error instanceof StateDirectoryError) throw withStack(error);
      throw error;
    }
  }

  /** Whether unfinished work survives the process ('emulated': our journal; 'system': the OS's background daemon). */
  get backgroundMode(): 'emulated' | 'system' | 'none' {
    if (this.#native.usesSystemBackground) return 'system';
    return this.#persistence === undefined ? 'none' : 'emulated';
  }

  /** The session's outstanding tasks (including those re-attached after a restart). */
  getAllTasks(): Promise<TaskInfo[]> {
    return Promise.resolve([...this.#tasks].map(([taskIdentifier, record]) => taskInfo(taskIdentifier, record)));
  }

  /** 'active' until finishTasksAndInvalidate/invalidateAndCancel, 'invalidated' once the 'invalidated' event fired. */
  get state(): SessionState {
    return this.#state;
  }

  /** Starts a download at once; returns its task identifier. The file lands in configuration.downloadDirectory. */
  downloadTask(args: DownloadTaskArguments): number {
    this.#ensureActive();
    const parsed = titaniumDownload(args);
    this.#checkDownloadDirectory(this.configuration.downloadDirectory);
    return this.#start(parsed);
  }

  /** Starts an upload at once; returns its task identifier. A string `data` is a file path, streamed from disk. */
  uploadTask(args: UploadTaskArguments): number {
    this.#ensureActive();
    return this.#start(titaniumUpload(args, this.configuration.maximumResponseSize));
  }

  /** Starts a data task at once; returns its task identifier. The response arrives as sessioncompleted's responseText. */
  dataTask(args: DataTaskArguments): number {
    this.#ensureActive();
    return this.#start(titaniumData(args, this.configuration.maximumResponseSize));
  }

  /**
   * Downloads `url` and resolves with { statusCode, headers, url, location, metrics }.
   * `download({ resumeData })` continues a download that was cancelled or failed.
   */
  download(url: string, options?: DownloadOptions): Task<DownloadResult>;
  download(options: DownloadOptions & { resumeData: Buffer }): Task<DownloadResult>;
  download(urlOrOptions: string | (DownloadOptions & { resumeData: Buffer }), maybeOptions: DownloadOptions = {}): Task<DownloadResult> {
    this.#ensureActive();
    const parsed = promiseDownload(urlOrOptions, maybeOptions, this.configuration.downloadDirectory);
    this.#checkDownloadDirectory(parsed.request.downloadDirectory as string);
    return this.#startTask<DownloadResult>(parsed);
  }

  /** Uploads `body` (bytes, a Blob, or a file path streamed from disk); resolves with { statusCode, headers, url, body, metrics }. */
  upload(url: string, body: Buffer | Uint8Array | Blob | string, options: UploadOptions = {}): Task<RequestResult> {
    this.#ensureActive();
    return this.#startTask<RequestResult>(promiseUpload(url, body, options, this.configuration.maximumResponseSize));
  }

  /**
   * A data task: resolves with { statusCode, headers, url, body: Buffer, metrics }, or with
   * `stream: true` at the response head with `body` as a Readable.
   */
  request(url: string, options: RequestOptions & { stream: true }): Task<StreamResult>;
  request(url: string, options?: RequestOptions): Task<RequestResult>;
  request(url: string, options: RequestOptions = {}): Task<any> {
    this.#ensureActive();
    return this.#startTask<RequestResult>(promiseData(url, options, this.configuration.maximumResponseSize));
  }

  /**
   * Cancels a task: it completes with success false and errorCode -999.
   * Returns false when the task is unknown or already completed.
   */
  cancelTask(taskIdentifier: number): boolean {
    if (typeof taskIdentifier !== 'number') {
      throw typeError(ErrorCodes.INVALID_ARGUMENT, `cancelTask(taskIdentifier): taskIdentifier must be a number, got ${typeof taskIdentifier}`);
    }
    validateNumber(taskIdentifier, 'taskIdentifier', { min: 1, integer: true });
    const record = this.#tasks.get(taskIdentifier);
    if (record === undefined) return false;
    debug('task %d of %s cancelled', taskIdentifier, this.identifier);
    if (record.starting || record.retryTimer !== undefined) this.#completeUnstarted(taskIdentifier, NSURLError.Cancelled);
    else this.#native.cancelTask(taskIdentifier);
    return true;
  }

  /**
   * No new tasks; running tasks finish; then 'invalidated' fires and the identifier is free again.
   * `session`: the seed's form passes the session itself; it must be this one.
   */
  finishTasksAndInvalidate(session?: Session): void {
    this.#expectSelf(session, 'finishTasksAndInvalidate');
    this.#ensureActive();
    this.#state = 'invalidating';
    debug('session %s finishing tasks and invalidating', this.identifier);
    abandonRetries(this.#tasks.values(), (failure) => process.nextTick(() => this.#router.receive([failure])));
    // Tasks whose Blob body is still being read count as existing tasks: let them start first.
    if (this.#pendingStarts.size > 0) {
      void Promise.allSettled([...this.#pendingStarts]).then(() => this.#native.finishTasksAndInvalidate());
    } else {
      this.#native.finishTasksAndInvalidate();
    }
  }

  /** Cancels every task (-999), then invalidates the session. `session`: as finishTasksAndInvalidate's. */
  invalidateAndCancel(session?: Session): void {
    this.#expectSelf(session, 'invalidateAndCancel');
    this.#ensureActive();
    this.#state = 'invalidating';
    debug('session %s invalidating and cancelling', this.identifier);
    for (const [id, record] of this.#tasks) {
      if (record.starting || record.retryTimer !== undefined) this.#completeUnstarted(id, NSURLError.Cancelled);
    }
    this.#native.invalidateAndCancel();
  }

  // The seed's one-argument forms name the session: anything but this session is a mistake.
  #expectSelf(session: unknown, method: string): void {
    if (session !== undefined && session !== this) {
      throw typeError(ErrorCodes.INVALID_ARGUMENT, `${method}(session): session must be the session the method is called on, or omitted`);
    }
  }

  /** Empties cookies, cache and credentials and removes the session's disk files (its cookie jar). */
  reset(): Promise<CompletedResult>;
  reset(callback: (result: CompletedResult) => void): void;
  reset(callback?: (result: CompletedResult) => void): Promise<CompletedResult> | void {
    return this.#tokenCall('reset', callback);
  }

  /** Writes the session's persistent state (its cookie jar in stateDirectory) to disk. */
  flush(): Promise<CompletedResult>;
  flush(callback: (result: CompletedResult) => void): void;
  flush(callback?: (result: CompletedResult) => void): Promise<CompletedResult> | void {
    return this.#tokenCall('flush', callback);
  }

  override on<K extends URLSessionEventName>(event: K, listener: (e: URLSessionEventMap[K]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  override once<K extends URLSessionEventName>(event: K, listener: (e: URLSessionEventMap[K]) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.once(event, listener);
  }

  #whenStarted(taskIdentifier: number, call: () => void): void {
    const record = this.#tasks.get(taskIdentifier);
    if (record !== undefined && !record.starting && record.retryTimer === undefined && this.#state !== 'invalidated') call();
  }

  #ensureActive(): void {
    if (this.#state !== 'active') throw invalidatedError(this.identifier);
  }

  // The per-user default download folder must be a private folder of ours before anything is
  // written into it (another local user may have made it first); checked once per session.
  #checkDownloadDirectory(directory: string): void {
    if (this.#downloadDirectoryChecked || !this.configuration.usesDefaultDownloadDirectory || directory !== this.configuration.downloadDirectory) return;
    ensurePrivateDirectory(directory);
    this.#downloadDirectoryChecked = true;
  }

  #tokenCall(kind: 'reset' | 'flush', callback?: (result: CompletedResult) => void): Promise<CompletedResult> | void {
    this.#ensureActive();
    if (callback !== undefined && typeof callback !== 'function') {
      throw typeError(ErrorCodes.INVALID_ARGUMENT, `${kind}(callback): callback must be a function`);
    }
    const token = this.#nextToken++;
    const result: CompletedResult = { completed: true };
    let promise: Promise<CompletedResult> | undefined;
    if (callback !== undefined) {
      this.#waiters.set(token, () => callback(result));
    } else {
      promise = new Promise((resolve) => this.#waiters.set(token, () => resolve(result)));
    }
    if (kind === 'reset') {
      this.#persistence?.reset(new Set(this.#tasks.keys()));
      this.#native.reset(token);
    }
    else this.#native.flush(token);
    return promise;
  }

  // One set of controls for all of this session's tasks (they pass their identifier).
  readonly #taskControls: TaskControls = {
    cancel: (id) => this.cancelTask(id),
    suspend: (id) => this.#whenStarted(id, () => this.#native.suspendTask(id)),
    resume: (id) => this.#whenStarted(id, () => this.#native.resumeTask(id)),
    acknowledge: (id, bytes) => this.#whenStarted(id, () => this.#native.acknowledgeBody(id, bytes)),
  };

  #startTask<R>(parsed: PromiseRequest): Task<R> {
    const { options } = parsed;
    const task = new Task<R>(
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
    this.#start(parsed, task);
    return task;
  }

  #start({ kind, request, body, taskDescription }: TaskRequest, task?: Task<any>): number {
    const taskIdentifier = this.#nextTaskIdentifier++;
    this.#counter?.taken(this.#nextTaskIdentifier);
    const full: NativeTaskRequest = { ...request, taskIdentifier };
    if (kind === 'download' && full.downloadDirectory === undefined) full.downloadDirectory = this.configuration.downloadDirectory;
    if (kind === 'download') void sweepStalePartials(full.downloadDirectory as string);
    const record = newTaskRecord(kind, request.url, task?.taskDescription ?? taskDescription, task);
    record.lastDownloadTotal = full.resumeOffset ?? 0;  // download({ resumeData }): kept bytes
    this.#tasks.set(taskIdentifier, record);
    if (body instanceof Promise) {
      record.starting = true;
      // The identifier is returned before the task is journaled (its body is still being read):
      // journaled now, it is never given to another task, whenever the process dies.
      this.#persistence?.reserve(taskIdentifier);
      const pending: Promise<void> = body
        .then(
          (ready) => {
            if (this.#tasks.get(taskIdentifier) !== record || this.#state === 'invalidated') return;
            record.starting = false;
            this.#launch(full, ready);
          },
          () => this.#completeUnstarted(taskIdentifier, NSURLError.CannotOpenFile),
        )
        .finally(() => this.#pendingStarts.delete(pending));
      this.#pendingStarts.add(pending);
    } else {
      this.#launch(full, body);
    }
    return taskIdentifier;
  }

  #launch(request: NativeTaskRequest, ready: EngineBody): void {
    const record = this.#tasks.get(request.taskIdentifier);
    if (record?.task !== undefined) record.request = request;
    withBody(request, ready);
    // Redacting costs a regular expression per task: only when NODE_DEBUG asks for the line.
    if (debug.enabled) debug('task %d of %s: %s %s', request.taskIdentifier, this.identifier, request.method, redactUrl(request.url));
    if (this.#persistence !== undefined && record !== undefined) this.#persistence.prepare(request, record.taskDescription);
    this.#native.startTask(packTaskRequest(request, record?.taskDescription ?? ''));
  }

  // A task that never reached the engine (or waits for a retry) still gets its sessioncompleted,
  // after the current call returns (listeners never run inside the caller's stack).
  #completeUnstarted(taskIdentifier: number, errorCode: number): void {
    const record = this.#tasks.get(taskIdentifier);
    if (record === undefined) return;
    record.starting = false;
    if (record.retryTimer !== undefined) clearTimeout(record.retryTimer);
    record.retryTimer = undefined;
    record.pendingFailure = undefined;
    const message = errorCode === NSURLError.Cancelled ? 'cancelled' : 'The request body could not be read.';
    process.nextTick(() =>
      this.#router.receive([{ type: EventType.TaskCompleted, taskIdentifier, errorCode, message, statusCode: 0 }]),
    );
  }

  // What the event router needs of this session (lib/event-router.ts).
  #newRouter(): EventRouter {
    const session = this;
    return new EventRouter({
      identifier: this.identifier,
      tasks: this.#tasks,
      get persistence() {
        return session.#persistence;
      },
      fanout: this.#fanout,
      isActive: () => this.#state === 'active',
      retry: (taskIdentifier, record, failure, delayMs) => {
        debug('task %d of %s: retry in %d ms (error %d, status %d)', taskIdentifier, this.identifier, delayMs, failure.errorCode ?? 0, failure.statusCode ?? 0);
        scheduleRetry(record, failure, delayMs, () => this.#tasks.get(taskIdentifier) === record && this.#state === 'active',
          (request) => this.#native.startTask(packTaskRequest(request, record.taskDescription)));
      },
      recovered: (taskIdentifier, kind, url, taskDescription) => {
        // nsurlsessiond kept this task of an earlier process: adopt it and keep numbering past it.
        if (!this.#tasks.has(taskIdentifier)) this.#tasks.set(taskIdentifier, newTaskRecord(kind, url, taskDescription));
        this.#nextTaskIdentifier = Math.max(this.#nextTaskIdentifier, taskIdentifier + 1);
        this.#counter?.taken(this.#nextTaskIdentifier);
      },
      tokenCompleted: (token) => {
        const waiter = this.#waiters.get(token);
        this.#waiters.delete(token);
        if (waiter !== undefined) runListener(waiter);
      },
      invalidated: () => this.#invalidated(),
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
    this.#onInvalidated(this);
    debug('session %s invalidated', this.identifier);
    this.#fanout.emit('invalidated', { sessionIdentifier: this.identifier });
    // As in Titanium: once invalidated, the session drops its listeners.
    this.removeAllListeners();
  }

}

// The error was made deep inside the journal; point its stack at the caller's createSession.
function withStack<E extends Error>(error: E): E {
  Error.captureStackTrace(error, withStack);
  return error;
}
