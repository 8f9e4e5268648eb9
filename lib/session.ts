// Session: Titanium's session object (downloadTask, uploadTask, dataTask, invalidation,
// reset/flush) over one native engine session. JS-thread only, like everything in lib/.
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { debuglog } from 'node:util';
import { binding } from './binding';
import { prepareDataBody, prepareUploadBody, type EngineBody, type PreparedBody } from './body';
import type { SessionConfiguration } from './configuration';
import { ErrorCodes, invalidatedError, NSURLError, typeError } from './errors';
import { EventType, packTaskRequest, TaskKind } from './native-constants';
import type { NativeEvent, NativeSession, NativeTaskRequest } from './native';
import { decodeEvents } from './native-events';
import { downloadBlobs, responseContentType } from './download-blob';
import { emitToEach, rethrowLater, runListener } from './listeners';
import { decodeResumeData, type ResumeState } from './resume-data';
import { isOwnPartial, removeOwnPartial } from './partial-files';
import { sweepStalePartials } from './partial-sweep';
import { stopAtExit } from './exit-cleanup';
import { ensurePrivateDirectory } from './private-directory';
import { SessionPersistence } from './persistence';
import { TaskCounter } from './task-counter';
import { lockStateDirectory, StateDirectoryError } from './state-directory';
import { Task, type DownloadResult, type RequestResult, type StreamResult, type TaskControls, type TaskSetup } from './task';
import type { RetryPolicy } from './retry';
import { parseTaskOptions, resolveDestination, type DownloadOptions, type RequestOptions, type UploadOptions } from './task-options';
import type {
  CompletedResult,
  DataTaskArguments,
  DownloadTaskArguments,
  UploadTaskArguments,
  URLSessionEventMap,
  URLSessionEventName,
} from './types';
import {
  expectOptionsObject,
  redactUrl,
  rejectUnknownKeys,
  validateHeaders,
  validateMethod,
  validateNumber,
  validateUrl,
} from './validate';

/** The most redirects NSURLSession follows (CFNetwork's own limit). */
export const APPLE_MAXIMUM_REDIRECTS = 20;

const debug = debuglog('urlsession');

type SessionState = 'active' | 'invalidating' | 'invalidated';

/** What session.getAllTasks() reports for each outstanding task. */
export interface TaskInfo {
  taskIdentifier: number;
  url: string;
  kind: 'download' | 'upload' | 'data';
  state: 'running' | 'suspended' | 'starting' | 'waitingToRetry';
  /** Download: bytes written so far (including bytes kept from before a restart); upload: bytes sent. */
  bytesTransferred: number;
  /** Content-Length or upload size; 0 when unknown. */
  bytesExpected: number;
  taskDescription: string;
}


interface TaskRecord {
  kind: 'download' | 'upload' | 'data';
  url: string;
  taskDescription: string;
  expected: number;
  /** The promise-API face of the task, for session.download/upload/request. */
  task?: Task<any>;
  location?: string;
  /** What the engine was given, kept for retries of promise-API tasks. */
  request?: NativeTaskRequest;
  /** A retry waiting for its backoff, and the failure it would report if it never runs. */
  retryTimer?: NodeJS.Timeout;
  pendingFailure?: NativeEvent;
  /** Body still being read (Blob); the engine has not seen the task yet. */
  starting: boolean;
  lastDownloadTotal: number;
  lastUploadTotal: number;
  /** The latest response's Content-Type: the type of downloadcompleted's Blob. */
  contentType?: string;
}

export class Session extends EventEmitter {
  /** The identifier of the configuration this session was created with. */
  readonly identifier: string;
  readonly configuration: SessionConfiguration;
  #native: NativeSession;
  #hub: EventEmitter;
  #onInvalidated: (session: Session) => void;
  #state: SessionState = 'active';
  #nextTaskIdentifier = 1;
  #nextToken = 1;
  #tasks = new Map<number, TaskRecord>();
  #waiters = new Map<number, () => void>();
  #pendingStarts = new Set<Promise<void>>();
  #delivery: Promise<void> | null = null;
  #persistence: SessionPersistence | undefined;
  #counter: TaskCounter | undefined;
  /** System background sessions: the state folder's lock, held until 'invalidated'. */
  #systemLock: number | undefined;
  #downloadDirectoryChecked = false;

  /** @internal Use createSession / createURLSession. */
  constructor(configuration: SessionConfiguration, hub: EventEmitter, onInvalidated: (session: Session) => void) {
    super();
    this.identifier = configuration.identifier;
    this.configuration = configuration;
    this.#hub = hub;
    this.#onInvalidated = onInvalidated;
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
        runListener(() => this.#receive(decodeEvents(numbers, text, bodies))),
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
    if (this.#persistence !== undefined) this.#reattach(this.#persistence);
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
        (warning) => process.nextTick(() => this.#emitEverywhere('warning', { sessionIdentifier: this.identifier, ...warning })),
        heldLock,
      );
    } catch (error) {
      if (error instanceof StateDirectoryError) throw withStack(error);
      throw error;
    }
  }

  // A new process re-creates a persistent session: continue what the dead one left running
  // (downloads from their bytes on disk) and deliver what it finished but never delivered.
  #reattach(persistence: SessionPersistence): void {
    const setAside = persistence.journal.setAside;
    // process.nextTick: after the caller's synchronous code (where it attaches listeners), and
    // before any engine event can arrive.
    if (setAside !== undefined) {
      process.nextTick(() =>
        this.#emitEverywhere('warning', {
          sessionIdentifier: this.identifier,
          message: `the journal ${setAside.reason} and was set aside; the session started clean`,
          path: setAside.path,
        }),
      );
    }
    for (const { request, taskDescription, kind, expectedBytes } of persistence.recoverableRequests()) {
      debug('task %d of %s: re-attached, resuming from %d bytes', request.taskIdentifier, this.identifier, request.resumeOffset ?? 0);
      const record = this.#newRecord(kind, request.url, taskDescription);
      // getAllTasks() at once shows the kept bytes and the known size, and the first progress
      // event's bytesWritten counts only what arrives now.
      record.lastDownloadTotal = request.resumeOffset ?? 0;
      record.expected = request.resumeOffset ? expectedBytes : 0;
      this.#tasks.set(request.taskIdentifier, record);
      this.#native.startTask(packTaskRequest(request, taskDescription));
    }
    const undelivered = persistence.undeliveredEvents();
    for (const { kind, events } of undelivered) {
      this.#tasks.set(events[0].taskIdentifier, this.#newRecord(kind, '', ''));
    }
    // A task whose body lived only in the dead process's memory (its state folder was full)
    // cannot run again: it completes as failed, so that the app hears how it ended.
    const lost: NativeEvent[] = persistence.lostTasks().map((task) => {
      this.#tasks.set(task.taskIdentifier, this.#newRecord(task.kind, task.url, task.taskDescription));
      return {
        type: EventType.TaskCompleted,
        taskIdentifier: task.taskIdentifier,
        errorCode: NSURLError.CannotOpenFile,
        message: 'The request body did not survive the process: the state folder could not store it.',
        statusCode: 0,
      };
    });
    const pending = [...undelivered.flatMap((entry) => entry.events), ...lost];
    if (pending.length > 0) process.nextTick(() => this.#receive(pending));
  }

  #newRecord(kind: TaskRecord['kind'], url: string, taskDescription: string, task?: Task<any>): TaskRecord {
    return { kind, url, taskDescription, expected: 0, task, starting: false, lastDownloadTotal: 0, lastUploadTotal: 0 };
  }

  /** Whether unfinished work survives the process ('emulated': our journal; 'system': the OS's background daemon). */
  get backgroundMode(): 'emulated' | 'system' | 'none' {
    if (this.#native.usesSystemBackground) return 'system';
    return this.#persistence === undefined ? 'none' : 'emulated';
  }

  /** The session's outstanding tasks (including those re-attached after a restart). */
  getAllTasks(): Promise<TaskInfo[]> {
    const list: TaskInfo[] = [];
    for (const [taskIdentifier, record] of this.#tasks) {
      const state = record.starting ? 'starting' : record.retryTimer !== undefined ? 'waitingToRetry' : record.task?.state === 'suspended' ? 'suspended' : 'running';
      list.push({
        taskIdentifier,
        url: record.url,
        kind: record.kind,
        state,
        bytesTransferred: record.kind === 'download' ? record.lastDownloadTotal : record.lastUploadTotal,
        bytesExpected: record.expected,
        taskDescription: record.taskDescription,
      });
    }
    return Promise.resolve(list);
  }

  /** 'active' until finishTasksAndInvalidate/invalidateAndCancel, 'invalidated' once the 'invalidated' event fired. */
  get state(): SessionState {
    return this.#state;
  }

  /** Starts a download at once; returns its task identifier. The file lands in configuration.downloadDirectory. */
  downloadTask(args: DownloadTaskArguments): number {
    this.#ensureActive();
    const o = expectOptionsObject(args, 'downloadTask(arguments)');
    rejectUnknownKeys(o, ['url', 'requestHeaders', 'taskDescription'], 'downloadTask');
    const url = validateUrl(o.url);
    const headers = validateHeaders(o.requestHeaders, 'requestHeaders');
    const taskDescription = description(o.taskDescription);
    this.#checkDownloadDirectory(this.configuration.downloadDirectory);
    // Named as download() names a folder destination: Content-Disposition, else the final URL.
    const request = { kind: TaskKind.Download, url, method: 'GET', headers, nameFromResponse: true };
    return this.#start('download', request, {}, undefined, taskDescription);
  }

  /** Starts an upload at once; returns its task identifier. A string `data` is a file path, streamed from disk. */
  uploadTask(args: UploadTaskArguments): number {
    this.#ensureActive();
    const o = expectOptionsObject(args, 'uploadTask(arguments)');
    rejectUnknownKeys(o, ['url', 'data', 'method', 'requestHeaders', 'taskDescription'], 'uploadTask');
    const url = validateUrl(o.url);
    if (o.data === undefined || o.data === null) {
      throw typeError(ErrorCodes.INVALID_ARGUMENT, 'uploadTask: data is required');
    }
    const method = validateMethod(o.method, 'POST');
    const headers = validateHeaders(o.requestHeaders, 'requestHeaders');
    const request = { kind: TaskKind.Upload, url, method, headers, maximumResponseSize: this.configuration.maximumResponseSize };
    return this.#start('upload', request, prepareUploadBody(o.data), undefined, description(o.taskDescription));
  }

  /** Starts a data task at once; returns its task identifier. The response arrives as sessioncompleted's responseText. */
  dataTask(args: DataTaskArguments): number {
    this.#ensureActive();
    const o = expectOptionsObject(args, 'dataTask(arguments)');
    rejectUnknownKeys(o, ['url', 'data', 'method', 'requestHeaders', 'taskDescription'], 'dataTask');
    const url = validateUrl(o.url);
    const body = prepareDataBody(o.data);
    const method = validateMethod(o.method, body === undefined ? 'GET' : 'POST');
    const headers = validateHeaders(o.requestHeaders, 'requestHeaders');
    const request = { kind: TaskKind.Data, url, method, headers, maximumResponseSize: this.configuration.maximumResponseSize };
    return this.#start('data', request, body ?? {}, undefined, description(o.taskDescription));
  }

  /**
   * Downloads `url` and resolves with { statusCode, headers, url, location, metrics }.
   * `download({ resumeData })` continues a download that was cancelled or failed.
   */
  download(url: string, options?: DownloadOptions): Task<DownloadResult>;
  download(options: DownloadOptions & { resumeData: Buffer }): Task<DownloadResult>;
  download(urlOrOptions: string | (DownloadOptions & { resumeData: Buffer }), maybeOptions: DownloadOptions = {}): Task<DownloadResult> {
    this.#ensureActive();
    const resumeOnly = typeof urlOrOptions !== 'string' && urlOrOptions !== null && typeof urlOrOptions === 'object';
    const rawOptions = resumeOnly ? urlOrOptions : maybeOptions;
    const parsed = parseTaskOptions('download', rawOptions);
    const resume = parsed.resumeData === undefined ? undefined : usableResume(decodeResumeData(parsed.resumeData));
    const url = validateUrl(resumeOnly ? resume?.url : urlOrOptions);
    const destination = resume ?? resolveDestination(parsed.destination, this.configuration.downloadDirectory, parsed.overwrite);
    this.#checkDownloadDirectory(destination.destinationDirectory);
    const request: Omit<NativeTaskRequest, 'taskIdentifier'> = {
      kind: TaskKind.Download,
      url,
      method: parsed.method ?? 'GET',
      headers: parsed.headers,
      timeout: parsed.timeout,
      downloadDirectory: destination.destinationDirectory,
      downloadFileName: destination.destinationFileName,
      nameFromResponse: destination.nameFromResponse,
      overwrite: destination.overwrite,
      discardOnHttpError: parsed.throwHttpErrors,
      keepPartialOnFailure: true,
      ...(parsed.integrity === undefined ? {} : { integrityAlgorithm: parsed.integrity.algorithm, integrityDigests: parsed.integrity.digests }),
      ...(resume === undefined || resume.partialPath === ''
        ? {}
        : { resumePartialPath: resume.partialPath, resumeIdentity: resume.partialIdentity, resumeOffset: resume.offset, resumeValidator: resume.validator }),
    };
    return this.#startTask<DownloadResult>('download', request, {}, parsed, {
      destinationDirectory: destination.destinationDirectory,
      destinationFileName: destination.destinationFileName,
      nameFromResponse: destination.nameFromResponse,
      overwrite: destination.overwrite,
      url,
    });
  }

  /** Uploads `body` (bytes, a Blob, or a file path streamed from disk); resolves with { statusCode, headers, url, body, metrics }. */
  upload(url: string, body: Buffer | Uint8Array | Blob | string, options: UploadOptions = {}): Task<RequestResult> {
    this.#ensureActive();
    const parsed = parseTaskOptions('upload', options);
    const target = validateUrl(url);
    if (body === undefined || body === null) throw typeError(ErrorCodes.INVALID_ARGUMENT, 'upload(url, body): body is required');
    const request = {
      kind: TaskKind.Upload, url: target, method: parsed.method ?? 'POST', headers: parsed.headers, timeout: parsed.timeout,
      maximumResponseSize: parsed.maximumResponseSize ?? this.configuration.maximumResponseSize,
    };
    return this.#startTask<RequestResult>('upload', request, prepareUploadBody(body), parsed);
  }

  /**
   * A data task: resolves with { statusCode, headers, url, body: Buffer, metrics }, or with
   * `stream: true` at the response head with `body` as a Readable.
   */
  request(url: string, options: RequestOptions & { stream: true }): Task<StreamResult>;
  request(url: string, options?: RequestOptions): Task<RequestResult>;
  request(url: string, options: RequestOptions = {}): Task<any> {
    this.#ensureActive();
    const parsed = parseTaskOptions('request', options);
    const target = validateUrl(url);
    const body = prepareDataBody(parsed.body);
    const method = parsed.method ?? (body === undefined ? 'GET' : 'POST');
    const request = {
      kind: TaskKind.Data, url: target, method, headers: parsed.headers, timeout: parsed.timeout, streamBody: parsed.stream,
      maximumResponseSize: parsed.maximumResponseSize ?? this.configuration.maximumResponseSize,
    };
    return this.#startTask<RequestResult>('data', request, body ?? {}, parsed);
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
    this.#abandonPendingRetries();
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

  // An invalidating session starts nothing new: a retry still waiting reports the failure it
  // retried (before the engine's 'invalidated', which waits for running tasks only).
  #abandonPendingRetries(): void {
    for (const record of this.#tasks.values()) {
      if (record.retryTimer === undefined || record.pendingFailure === undefined) continue;
      clearTimeout(record.retryTimer);
      record.retryTimer = undefined;
      const failure = record.pendingFailure;
      process.nextTick(() => this.#receive([failure]));
    }
  }

  #whenStarted(taskIdentifier: number, call: () => void): void {
    const record = this.#tasks.get(taskIdentifier);
    if (record !== undefined && !record.starting && record.retryTimer === undefined && this.#state !== 'invalidated') call();
  }

  #scheduleRetry(taskIdentifier: number, record: TaskRecord, failure: NativeEvent, delayMs: number): void {
    const request = record.request as NativeTaskRequest;
    // A download resumes from the bytes it kept when the server gave a validator.
    if (failure.partialPath !== undefined) {
      if ((failure.partialBytes ?? 0) > 0 && (failure.validator ?? '') !== '') {
        request.resumePartialPath = failure.partialPath;
        request.resumeIdentity = failure.partialIdentity;
        request.resumeOffset = failure.partialBytes;
        request.resumeValidator = failure.validator;
      } else {
        removeOwnPartial(failure.partialPath, failure.partialIdentity);
        delete request.resumePartialPath;
      }
    }
    debug('task %d of %s: retry in %d ms (error %d, status %d)', taskIdentifier, this.identifier, delayMs, failure.errorCode ?? 0, failure.statusCode ?? 0);
    record.pendingFailure = { ...failure, partialPath: undefined };
    record.retryTimer = setTimeout(() => {
      record.retryTimer = undefined;
      record.pendingFailure = undefined;
      if (this.#tasks.get(taskIdentifier) !== record || this.#state !== 'active') return;
      // A resumed retry continues from the kept bytes: they are not news to bytesWritten.
      record.lastDownloadTotal = request.resumePartialPath !== undefined ? (request.resumeOffset ?? 0) : 0;
      record.lastUploadTotal = 0;
      this.#native.startTask(packTaskRequest(request, record.taskDescription));
    }, delayMs);
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

  #startTask<R>(
    kind: TaskRecord['kind'],
    request: Omit<NativeTaskRequest, 'taskIdentifier'>,
    body: PreparedBody,
    options: { taskDescription: string; throwHttpErrors: boolean; signal?: AbortSignal; retry: RetryPolicy; stream?: boolean },
    resumeTemplate?: TaskSetup['resumeTemplate'],
  ): Task<R> {
    const taskIdentifier = this.#nextTaskIdentifier;
    const task = new Task<R>(
      {
        taskIdentifier,
        taskDescription: options.taskDescription,
        kind,
        url: request.url,
        method: request.method,
        throwHttpErrors: options.throwHttpErrors,
        signal: options.signal,
        retry: options.retry,
        stream: options.stream,
        resumeTemplate,
      },
      this.#taskControls,
    );
    this.#start(kind, request, body, task);
    return task;
  }

  #start(
    kind: TaskRecord['kind'],
    request: Omit<NativeTaskRequest, 'taskIdentifier'>,
    body: PreparedBody,
    task?: Task<any>,
    taskDescription = task?.taskDescription ?? '',
  ): number {
    const taskIdentifier = this.#nextTaskIdentifier++;
    this.#counter?.taken(this.#nextTaskIdentifier);
    const full: NativeTaskRequest = { ...request, taskIdentifier };
    if (kind === 'download' && full.downloadDirectory === undefined) full.downloadDirectory = this.configuration.downloadDirectory;
    if (kind === 'download') void sweepStalePartials(full.downloadDirectory as string);
    const record = this.#newRecord(kind, request.url, taskDescription, task);
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
    if (ready.body !== undefined) request.body = ready.body;
    if (ready.bodyPath !== undefined) request.bodyPath = ready.bodyPath;
    if (ready.impliedContentType !== undefined && !hasHeader(request.headers, 'content-type')) {
      request.headers = [...request.headers, 'Content-Type', ready.impliedContentType];
    }
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
      this.#receive([{ type: EventType.TaskCompleted, taskIdentifier, errorCode, message, statusCode: 0 }]),
    );
  }

  // Called by the bridge with one batch per wake-up. Batches holding a finished download wait
  // for its file-backed Blob; later batches queue behind so the order never changes.
  #receive(events: NativeEvent[]): void {
    // Titanium's downloadcompleted carries the file as a Blob: made only for someone listening.
    const needsBlobs = events.some((event) => event.type === EventType.DownloadCompleted) && this.#hasListeners('downloadcompleted');
    if (this.#delivery === null && !needsBlobs) {
      this.#dispatch(events, new Map());
      return;
    }
    const previous = this.#delivery ?? Promise.resolve();
    const next = previous.then(async () => {
      const blobs = await downloadBlobs(events, (id) => this.#tasks.get(id)?.contentType);
      // A throw here must not reject the chain: every later batch waits on this promise.
      runListener(() => this.#dispatch(events, blobs));
    });
    this.#delivery = next;
    void next.finally(() => {
      if (this.#delivery === next) this.#delivery = null;
    });
  }

  #dispatch(events: NativeEvent[], blobs: Map<NativeEvent, Blob>): void {
    const sessionIdentifier = this.identifier;
    for (const event of events) {
      const taskIdentifier = event.taskIdentifier;
      const record = this.#tasks.get(taskIdentifier);
      switch (event.type) {
        case EventType.DownloadProgress:
        case EventType.UploadProgress:
          if (record !== undefined) this.#progress(record, event);
          break;
        case EventType.Response:
          if (record === undefined) break;
          record.expected = event.expectedBytes ?? 0;
          record.contentType = responseContentType(event.headers);
          this.#persistence?.responseArrived(taskIdentifier, event);
          if (record.task !== undefined) runListener(() => record.task?._response(event));
          break;
        case EventType.DownloadCompleted:
          if (record === undefined) break;
          record.location = event.location;
          this.#emitEverywhere('downloadcompleted', () => ({
            taskIdentifier,
            sessionIdentifier,
            location: event.location as string,
            data: blobs.get(event) ?? new Blob([]),
            statusCode: event.statusCode ?? 0,
          }));
          break;
        case EventType.TaskRecovered: {
          // nsurlsessiond kept this task of an earlier process: adopt it and keep numbering past it.
          const kind = (['download', 'upload', 'data'] as const)[event.kind ?? 0];
          if (record === undefined) this.#tasks.set(taskIdentifier, this.#newRecord(kind, event.url ?? '', event.taskDescription ?? ''));
          this.#nextTaskIdentifier = Math.max(this.#nextTaskIdentifier, taskIdentifier + 1);
          this.#counter?.taken(this.#nextTaskIdentifier);
          break;
        }
        case EventType.BackgroundEventsDelivered:
          // macOS: nsurlsessiond handed over everything it held for a relaunched app (Titanium's
          // meaning of the event). Elsewhere the event fires when outstanding tasks drain.
          this.#emitEverywhere('sessioneventscompleted', { sessionIdentifier });
          break;
        case EventType.BodyData:
          if (record?.task !== undefined && event.chunk !== undefined) {
            const chunk = event.chunk;
            runListener(() => record.task?._body(chunk));
          }
          break;
        case EventType.TaskCompleted: {
          if (record === undefined) break;
          if (record.task !== undefined && record.request !== undefined && this.#state === 'active') {
            const task = record.task;
            let delayMs = -1;
            runListener(() => {
              delayMs = task._retryDelay(event);
            });
            if (delayMs >= 0) {
              this.#scheduleRetry(taskIdentifier, record, event, delayMs);
              break;
            }
          }
          this.#tasks.delete(taskIdentifier);
          // Journaled before any listener runs, marked delivered after: at-least-once delivery.
          this.#persistence?.completed(record.kind, event, record.location);
          const errorCode = event.errorCode ?? 0;
          if (debug.enabled) debug('task %d of %s completed: error %d, status %d', taskIdentifier, sessionIdentifier, errorCode, event.statusCode ?? 0);
          this.#emitEverywhere('sessioncompleted', () => titaniumCompletion(record.kind, event, sessionIdentifier));
          if (record.task !== undefined) runListener(() => record.task?._complete(event, record.location));
          this.#persistence?.delivered(taskIdentifier);
          if (this.#tasks.size === 0) this.#emitEverywhere('sessioneventscompleted', { sessionIdentifier });
          break;
        }
        case EventType.ResetCompleted:
        case EventType.FlushCompleted: {
          const waiter = this.#waiters.get(event.token as number);
          this.#waiters.delete(event.token as number);
          if (waiter !== undefined) runListener(waiter);
          break;
        }
        case EventType.SessionInvalidated:
          this.#state = 'invalidated';
          this.#native.close();
          // Every task has ended and been delivered: nothing is left to resume.
          this.#persistence?.close();
          if (this.#systemLock !== undefined) binding.unlockFile(this.#systemLock);
          this.#systemLock = undefined;
          this.#onInvalidated(this);
          debug('session %s invalidated', sessionIdentifier);
          this.#emitEverywhere('invalidated', { sessionIdentifier });
          // As in Titanium: once invalidated, the session drops its listeners.
          this.removeAllListeners();
          break;
        default:
          break;
      }
    }
  }

  // One progress event, in Titanium's shape (with the delta since the previous one) and, for
  // promise-API tasks, as the Task's 'progress'.
  #progress(record: TaskRecord, event: NativeEvent): void {
    const download = event.type === EventType.DownloadProgress;
    const total = event.totalBytes ?? 0;
    const expected = event.expectedBytes ?? 0;
    const previous = download ? record.lastDownloadTotal : record.lastUploadTotal;
    // A total below the previous one is a restart from zero (200 instead of 206, a retried
    // upload): everything it reports arrived since.
    const delta = total >= previous ? total - previous : total;
    if (download) record.lastDownloadTotal = total;
    else record.lastUploadTotal = total;
    if (record.task !== undefined) {
      runListener(() => record.task?._progress({ direction: download ? 'download' : 'upload', transferred: total, expected }));
    }
    const base = { taskIdentifier: event.taskIdentifier, sessionIdentifier: this.identifier };
    if (download) {
      this.#emitEverywhere('downloadprogress', { ...base, bytesWritten: delta, totalBytesWritten: total, totalBytesExpectedToWrite: expected });
    } else {
      this.#emitEverywhere('uploadprogress', { ...base, bytesSent: delta, totalBytesSent: total, totalBytesExpectedToSend: expected });
    }
  }

  /**
   * Emits on this session and on the module. `event` may be a function building the payload: it
   * runs only when someone listens, so tasks nobody watches through Titanium's events do not pay
   * for payloads (a data task's responseText decodes its whole body).
   */
  #emitEverywhere<K extends URLSessionEventName>(name: K, event: URLSessionEventMap[K] | (() => URLSessionEventMap[K])): void {
    let payload: URLSessionEventMap[K];
    if (typeof event === 'function') {
      if (!this.#hasListeners(name)) return;
      // Building a payload can throw (a responseText longer than V8's longest string): that
      // becomes an uncaughtException like a throwing listener, and the batch goes on.
      try {
        payload = event();
      } catch (error) {
        rethrowLater(error);
        return;
      }
    } else {
      payload = event;
    }
    emitToEach(this, name, payload);
    emitToEach(this.#hub, name, payload);
  }

  #hasListeners(name: URLSessionEventName): boolean {
    return this.listenerCount(name) > 0 || this.#hub.listenerCount(name) > 0;
  }
}

// Titanium's sessioncompleted. A body too long for one JS string (only possible when
// maximumResponseSize was raised past V8's string limit) cannot become responseText: the
// completion still arrives, as the failure -1103 with an empty responseText.
function titaniumCompletion(kind: TaskRecord['kind'], event: NativeEvent, sessionIdentifier: string): URLSessionEventMap['sessioncompleted'] {
  let errorCode = event.errorCode ?? 0;
  let message = event.message ?? '';
  let responseText: string | undefined;
  if (kind !== 'download') {
    try {
      responseText = event.responseBody?.toString('utf8') ?? '';
    } catch {
      responseText = '';
      errorCode = NSURLError.DataLengthExceedsMaximum;
      message = `resource exceeds maximum size (the body of ${event.responseBody?.length ?? 0} bytes is longer than a JavaScript string can be)`;
    }
  }
  return {
    taskIdentifier: event.taskIdentifier,
    sessionIdentifier,
    success: errorCode === 0,
    errorCode,
    message,
    statusCode: event.statusCode ?? 0,
    ...(responseText === undefined ? {} : { responseText }),
  };
}


// A genuine blob's partial file is used only while it is still that file of ours. Gone (a
// cleaned temp folder): the download starts over. Anything else there now: refused.
function usableResume(resume: ResumeState): ResumeState {
  if (isOwnPartial(resume.partialPath, resume.partialIdentity)) return resume;
  if (fs.lstatSync(resume.partialPath, { throwIfNoEntry: false }) === undefined) {
    return { ...resume, partialPath: '', partialIdentity: '', offset: 0, validator: '' };
  }
  throw typeError(ErrorCodes.INVALID_RESUME_DATA, `resumeData's partial file ${resume.partialPath} is no longer the file this download wrote; refusing to touch it`);
}

function description(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw typeError(ErrorCodes.INVALID_ARGUMENT, 'taskDescription must be a string');
  return value;
}

// The error was made deep inside the journal; point its stack at the caller's createSession.
function withStack<E extends Error>(error: E): E {
  Error.captureStackTrace(error, withStack);
  return error;
}

function hasHeader(flat: string[], name: string): boolean {
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i].toLowerCase() === name) return true;
  }
  return false;
}
