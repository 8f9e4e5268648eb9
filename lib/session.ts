// Session: Titanium's session object (downloadTask, uploadTask, dataTask, invalidation,
// reset/flush) over one native engine session. JS-thread only, like everything in lib/.
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import { binding } from './binding';
import type { SessionConfiguration } from './configuration';
import { ErrorCodes, invalidatedError, NSURLError, typeError } from './errors';
import { EventRouter } from './event-router';
import { stopAtExit } from './exit-cleanup';
import { Fanout, runListener } from './listeners';
import { packTaskRequest } from './native-constants';
import type { NativeSession } from './native';
import { decodeEvents } from './native-events';
import { removeOwnPartial } from './partial-files';
import type { SessionPersistence } from './persistence';
import { ensurePrivateDirectory } from './private-directory';
import { reattach } from './reattach';
import { TaskLauncher } from './task-launcher';
import { openSessionParts } from './session-setup';
import { promiseData, promiseDownload, promiseUpload, titaniumData, titaniumDownload, titaniumUpload, type PromiseRequest } from './requests';
import { abandonRetries, scheduleRetry } from './retry-scheduler';
import { Task, type DownloadResult, type RequestResult, type StreamResult, type TaskControls } from './task';
import type { TaskCounter } from './task-counter';
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
import { validateNumber } from './validate';

export type { TaskInfo } from './task-table';

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
  #persistence: SessionPersistence | undefined;
  #fanout: Fanout;
  #router: EventRouter;
  #launcher: TaskLauncher;
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
    const session = this;
    this.#launcher = new TaskLauncher({
      identifier: this.identifier,
      tasks: this.#tasks,
      get persistence() {
        return session.#persistence;
      },
      downloadDirectory: configuration.downloadDirectory,
      takeIdentifier: () => {
        const taskIdentifier = this.#nextTaskIdentifier++;
        this.#counter?.taken(this.#nextTaskIdentifier);
        return taskIdentifier;
      },
      isInvalidated: () => this.#state === 'invalidated',
      startNative: (request, taskDescription) => this.#native.startTask(packTaskRequest(request, taskDescription)),
      deliver: (events) => this.#router.receive(events),
    });
    const parts = openSessionParts(
      configuration,
      // Nothing may escape this callback: Node 20 drops exceptions thrown from a native
      // thread-safe function's call, and the rest of the batch with them.
      (numbers, text, bodies) => runListener(() => this.#router.receive(decodeEvents(numbers, text, bodies))),
      // Deferred: a failed write can happen inside the app's own call (uploadTask writes the
      // body), and listeners never run inside the caller's stack.
      (warning) => process.nextTick(() => this.#fanout.emit('warning', { sessionIdentifier: this.identifier, ...warning })),
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
    return this.#launcher.start(parsed);
  }

  /** Starts an upload at once; returns its task identifier. A string `data` is a file path, streamed from disk. */
  uploadTask(args: UploadTaskArguments): number {
    this.#ensureActive();
    return this.#launcher.start(titaniumUpload(args, this.configuration.maximumResponseSize));
  }

  /** Starts a data task at once; returns its task identifier. The response arrives as sessioncompleted's responseText. */
  dataTask(args: DataTaskArguments): number {
    this.#ensureActive();
    return this.#launcher.start(titaniumData(args, this.configuration.maximumResponseSize));
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
    if (record.starting || record.retryTimer !== undefined) this.#launcher.completeUnstarted(taskIdentifier, NSURLError.Cancelled);
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
    if (this.#launcher.pending.size > 0) {
      void Promise.allSettled([...this.#launcher.pending]).then(() => this.#native.finishTasksAndInvalidate());
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
      if (record.starting || record.retryTimer !== undefined) this.#launcher.completeUnstarted(id, NSURLError.Cancelled);
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
    this.#launcher.start(parsed, task);
    return task;
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
