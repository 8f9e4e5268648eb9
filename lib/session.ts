// Session: Titanium's session object (downloadTask, uploadTask, dataTask, invalidation,
// reset/flush) and the promise API (download, upload, request) over one native engine session.
// The public face only: it checks arguments (lib/requests.ts) and hands the work to its
// SessionRuntime (lib/session-runtime.ts). JS thread only, like everything in lib/.
import { EventEmitter } from 'node:events';
import type { SessionConfiguration } from './configuration';
import { ErrorCodes, typeError } from './errors';
import type { FetchInit } from './fetch';
import { fetchLazily } from './fetch-lazy';
import {
  promiseData,
  promiseDownload,
  promiseUpload,
  titaniumData,
  titaniumDownload,
  titaniumUpload,
} from './requests';
import type { BodyStreamSource } from './request-body-stream';
import { SessionRuntime, type SessionState } from './session-runtime';
import { parseSpeedLimit } from './speed-limit';
import type { Task } from './task';
import type { DownloadResult, RequestResult, StreamResult } from './task-types';
import type { TaskInfo } from './task-table';
import type { DownloadOptions, RequestOptions, UploadOptions } from './task-options';
import type {
  CompletedResult,
  DataTaskArguments,
  DownloadTaskArguments,
  UploadTaskArguments,
  URLSessionEvents,
} from './types';
import { validateNumber } from './validate';

export type { TaskInfo } from './task-table';
export type { SessionState } from './session-runtime';

/** Its events are typed: a listener of an event name it does not emit, or of the wrong payload, is a type error. */
export class Session extends EventEmitter<URLSessionEvents> {
  /** The identifier of the configuration this session was created with. */
  readonly identifier: string;
  readonly configuration: SessionConfiguration;
  #runtime: SessionRuntime;

  /** @internal Sessions come from createSession / createURLSession. */
  static create(
    configuration: SessionConfiguration,
    hub: EventEmitter,
    onInvalidated: (session: Session) => void,
  ): Session {
    return new Session(configuration, hub, onInvalidated);
  }

  private constructor(
    configuration: SessionConfiguration,
    hub: EventEmitter,
    onInvalidated: (session: Session) => void,
  ) {
    super();
    this.identifier = configuration.identifier;
    this.configuration = configuration;
    this.#runtime = new SessionRuntime(configuration, this, hub, () => onInvalidated(this));
  }

  /** Whether unfinished work survives the process ('emulated': our journal; 'system': the OS's background daemon). */
  get backgroundMode(): 'emulated' | 'system' | 'none' {
    return this.#runtime.backgroundMode;
  }

  /** The session's outstanding tasks (including those re-attached after a restart). */
  getAllTasks(): Promise<TaskInfo[]> {
    return Promise.resolve(this.#runtime.taskInfos());
  }

  /** 'active' until finishTasksAndInvalidate/invalidateAndCancel, 'invalidated' once the 'invalidated' event fired. */
  get state(): SessionState {
    return this.#runtime.state;
  }

  /** Starts a download at once; returns its task identifier. The file lands in configuration.downloadDirectory. */
  downloadTask(args: DownloadTaskArguments): number {
    this.#runtime.ensureActive();
    const parsed = titaniumDownload(args);
    this.#runtime.checkDownloadDirectory(this.configuration.downloadDirectory);
    return this.#runtime.start(parsed);
  }

  /** Starts an upload at once; returns its task identifier. A string `data` is a file path, streamed from disk. */
  uploadTask(args: UploadTaskArguments): number {
    this.#runtime.ensureActive();
    return this.#runtime.start(titaniumUpload(args, this.configuration.maximumResponseSize));
  }

  /** Starts a data task at once; returns its task identifier. The response arrives as sessioncompleted's responseText. */
  dataTask(args: DataTaskArguments): number {
    this.#runtime.ensureActive();
    return this.#runtime.start(titaniumData(args, this.configuration.maximumResponseSize));
  }

  /**
   * Downloads `url` and resolves with { statusCode, headers, url, location, metrics }.
   * `download({ resumeData })` continues a download that was cancelled or failed.
   */
  download(url: string, options?: DownloadOptions): Task<DownloadResult>;
  download(options: DownloadOptions & { resumeData: Buffer }): Task<DownloadResult>;
  download(
    urlOrOptions: string | (DownloadOptions & { resumeData: Buffer }),
    maybeOptions: DownloadOptions = {},
  ): Task<DownloadResult> {
    this.#runtime.ensureActive();
    const parsed = promiseDownload(urlOrOptions, maybeOptions, this.configuration.downloadDirectory);
    this.#runtime.checkDownloadDirectory(parsed.request.downloadDirectory as string);
    return this.#runtime.startTask<DownloadResult>(parsed);
  }

  /** Uploads `body` (bytes, a Blob, a file path streamed from disk, or a ReadableStream/Readable streamed as it is read); resolves with { statusCode, headers, url, body, metrics }. */
  upload(
    url: string,
    body: Buffer | Uint8Array | Blob | string | BodyStreamSource,
    options: UploadOptions = {},
  ): Task<RequestResult> {
    this.#runtime.ensureActive();
    return this.#runtime.startTask<RequestResult>(
      promiseUpload(url, body, options, this.configuration.maximumResponseSize),
    );
  }

  /**
   * A data task: resolves with { statusCode, headers, url, body: Buffer, metrics }, or with
   * `stream: true` at the response head with `body` as a Readable.
   */
  request(url: string, options: RequestOptions & { stream: true }): Task<StreamResult>;
  request(url: string, options?: RequestOptions): Task<RequestResult>;
  request(url: string, options: RequestOptions = {}): Task<RequestResult> | Task<StreamResult> {
    this.#runtime.ensureActive();
    return this.#runtime.startTask<RequestResult>(promiseData(url, options, this.configuration.maximumResponseSize));
  }

  /**
   * The standard fetch(input, init) sent by this session's engine (its cookies, proxy, TLS and
   * limits): resolves with a Response (a subclass of Node's own), its body streamed with
   * backpressure. See README "fetch()".
   */
  fetch(input: string | URL | Request, init?: FetchInit): Promise<Response> {
    return fetchLazily(this, input, init);
  }

  /**
   * Cancels a task: it completes with success false and errorCode -999.
   * Returns false when the task is unknown or already completed.
   */
  cancelTask(taskIdentifier: number): boolean {
    if (typeof taskIdentifier !== 'number') {
      throw typeError(
        ErrorCodes.INVALID_ARGUMENT,
        `cancelTask(taskIdentifier): taskIdentifier must be a number, got ${typeof taskIdentifier}`,
      );
    }
    validateNumber(taskIdentifier, 'taskIdentifier', { min: 1, integer: true });
    return this.#runtime.cancel(taskIdentifier);
  }

  /**
   * Changes the session's speed limit while it runs: bytes per second for all its running tasks
   * together, each direction, shared fairly; 0 or null removes it. Throws a RangeError (TypeError
   * for a non-number) coded ERR_URLSESSION_SPEED_LIMIT for a negative, fractional or NaN value.
   */
  setSpeedLimit(bytesPerSecond: number | null): void {
    const limit = parseSpeedLimit(bytesPerSecond, 'setSpeedLimit(bytesPerSecond)');
    this.#runtime.setSpeedLimit(0, limit);
  }

  /**
   * Changes one task's speed limit (Titanium's tasks are identifiers; a Task has setSpeedLimit).
   * Returns false when the task is unknown or already completed. Bad values: as setSpeedLimit's.
   */
  setTaskSpeedLimit(taskIdentifier: number, bytesPerSecond: number | null): boolean {
    if (typeof taskIdentifier !== 'number') {
      throw typeError(
        ErrorCodes.INVALID_ARGUMENT,
        `setTaskSpeedLimit: taskIdentifier must be a number, got ${typeof taskIdentifier}`,
      );
    }
    validateNumber(taskIdentifier, 'taskIdentifier', { min: 1, integer: true });
    const limit = parseSpeedLimit(bytesPerSecond, 'setTaskSpeedLimit(taskIdentifier, bytesPerSecond)');
    return this.#runtime.setSpeedLimit(taskIdentifier, limit);
  }

  /**
   * No new tasks; running tasks finish; then 'invalidated' fires and the identifier is free again.
   * `session`: the seed's form passes the session itself; it must be this one.
   */
  finishTasksAndInvalidate(session?: Session): void {
    this.#expectSelf(session, 'finishTasksAndInvalidate');
    this.#runtime.ensureActive();
    this.#runtime.finishTasksAndInvalidate();
  }

  /** Cancels every task (-999), then invalidates the session. `session`: as finishTasksAndInvalidate's. */
  invalidateAndCancel(session?: Session): void {
    this.#expectSelf(session, 'invalidateAndCancel');
    this.#runtime.ensureActive();
    this.#runtime.invalidateAndCancel();
  }

  // The seed's one-argument forms name the session: anything but this session is a mistake.
  #expectSelf(session: unknown, method: string): void {
    if (session !== undefined && session !== this) {
      throw typeError(
        ErrorCodes.INVALID_ARGUMENT,
        `${method}(session): session must be the session the method is called on, or omitted`,
      );
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

  #tokenCall(kind: 'reset' | 'flush', callback?: (result: CompletedResult) => void): Promise<CompletedResult> | void {
    this.#runtime.ensureActive();
    if (callback !== undefined && typeof callback !== 'function') {
      throw typeError(ErrorCodes.INVALID_ARGUMENT, `${kind}(callback): callback must be a function`);
    }
    const result: CompletedResult = { completed: true };
    if (callback !== undefined) return this.#runtime.tokenCall(kind, () => callback(result));
    return new Promise((resolve) => this.#runtime.tokenCall(kind, () => resolve(result)));
  }
}
