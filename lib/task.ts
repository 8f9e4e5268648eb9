// Task: the promise-and-events face of one transfer (session.download/upload/request).
// The Titanium events still fire for these tasks; a Task adds per-task events, `.done`,
// AbortSignal, suspend/resume and resume data. JS thread only.
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { NSURLError } from './errors';
import type { NativeEvent } from './native';
import { encodeResumeData, type ResumeState } from './resume-data';
import { parseSpeedLimit } from './speed-limit';
import { removeOwnPartial } from './partial-files';
import { emitToEach } from './listeners';
import { NO_RETRY, retryDelay, type RetryPolicy } from './retry';
import { headerRecord } from './headers';
import { AbortError, BODY_EXCERPT_LIMIT, HTTPError, IntegrityError, TransferError } from './task-errors';
import type { TaskKindName } from './task-table';
import type {
  DownloadResult,
  RequestResult,
  StreamResult,
  TaskError,
  TaskEventMap,
  TaskMetrics,
  TaskProgress,
  TaskResponse,
  TaskRetry,
  TaskState,
} from './task-types';

export { AbortError, HTTPError, IntegrityError, TransferError } from './task-errors';

const ignore = (): void => undefined;

/** What a Task needs from its session. */
export interface TaskControls {
  cancel(taskIdentifier: number): void;
  suspend(taskIdentifier: number): void;
  resume(taskIdentifier: number): void;
  acknowledge(taskIdentifier: number, bytes: number): void;
  setSpeedLimit(taskIdentifier: number, bytesPerSecond: number): void;
}

export interface TaskSetup {
  taskIdentifier: number;
  taskDescription: string;
  kind: TaskKindName;
  url: string;
  throwHttpErrors: boolean;
  signal?: AbortSignal;
  method: string;
  retry?: RetryPolicy;
  /** request(): resolve at the response head with a Readable body. */
  stream?: boolean;
  /** Downloads: how to describe the partial file in resume data. */
  resumeTemplate?: Omit<ResumeState, 'partialPath' | 'partialIdentity' | 'offset' | 'validator' | 'segmentPlan'>;
}

/** A task of any result type, as the session's task table holds it. */
export type AnyTask = Task<DownloadResult> | Task<RequestResult> | Task<StreamResult>;

export class Task<Result = DownloadResult | RequestResult> extends EventEmitter<TaskEventMap<Result>> {
  readonly taskIdentifier: number;
  /** Free text for the app, kept with the task (as NSURLSessionTask.taskDescription). */
  readonly taskDescription: string;
  readonly kind: TaskKindName;
  /** Settles when the task completes: the result, or an HTTPError, TransferError or AbortError. */
  readonly done: Promise<Result>;
  #state: TaskState = 'running';
  #controls: TaskControls;
  #setup: TaskSetup;
  #response: TaskResponse | undefined;
  #resolve!: (result: Result) => void;
  #reject!: (error: TaskError) => void;
  #resumeDataWaiter: ((data: Buffer | null) => void) | undefined;
  #aborted = false;
  #onAbort: (() => void) | undefined;
  #attempt = 0;
  #stream: Readable | undefined;
  #unacknowledged = 0;
  #errorBody: Buffer[] = [];

  /** @internal Tasks come from session.download/upload/request. */
  static create<R>(setup: TaskSetup, controls: TaskControls): Task<R> {
    return new Task<R>(setup, controls);
  }

  private constructor(setup: TaskSetup, controls: TaskControls) {
    super();
    this.taskIdentifier = setup.taskIdentifier;
    this.taskDescription = setup.taskDescription;
    this.kind = setup.kind;
    this.#setup = setup;
    this.#controls = controls;
    this.done = new Promise<Result>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A task used only through its events must not crash the process with an unhandled
    // rejection; awaiting `done` still sees the rejection.
    this.done.catch(ignore);
    const signal = setup.signal;
    if (signal !== undefined) {
      this.#onAbort = () => {
        this.#aborted = true;
        this.cancel();
      };
      if (signal.aborted) queueMicrotask(this.#onAbort);
      else signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  get state(): TaskState {
    return this.#state;
  }

  /** The response head, once it arrived. */
  get response(): TaskResponse | undefined {
    return this.#response;
  }

  /** Cancels the task; `done` rejects with an AbortError (-999). No effect once completed. */
  cancel(): void {
    if (this.#state === 'completed' || this.#state === 'canceling') return;
    this.#state = 'canceling';
    this.#controls.cancel(this.taskIdentifier);
  }

  /** Pauses the transfer without losing bytes (the connection stays open). */
  suspend(): void {
    if (this.#state !== 'running') return;
    this.#state = 'suspended';
    this.#controls.suspend(this.taskIdentifier);
  }

  /**
   * Changes this task's speed limit while it runs: bytes per second, each direction; 0 or null
   * removes it. Within a session limit it caps the task's share. Throws a RangeError (TypeError
   * for a non-number) coded ERR_URLSESSION_SPEED_LIMIT for a negative, fractional or NaN value.
   */
  setSpeedLimit(bytesPerSecond: number | null): void {
    const limit = parseSpeedLimit(bytesPerSecond, 'setSpeedLimit(bytesPerSecond)');
    if (this.#state === 'completed') return;
    this.#controls.setSpeedLimit(this.taskIdentifier, limit);
  }

  /** Continues a suspended transfer. */
  resume(): void {
    if (this.#state !== 'suspended') return;
    this.#state = 'running';
    this.#controls.resume(this.taskIdentifier);
  }

  /**
   * Downloads only: cancels and resolves with resume data for session.download({ resumeData }),
   * or with null when the server gave no validator (ETag or Last-Modified) to resume safely.
   */
  cancelByProducingResumeData(): Promise<Buffer | null> {
    if (this.kind !== 'download') return Promise.reject(new TypeError('only download tasks produce resume data'));
    if (this.#state === 'completed') return Promise.resolve(null);
    const result = new Promise<Buffer | null>((resolve) => {
      this.#resumeDataWaiter = resolve;
    });
    this.cancel();
    return result;
  }

  /** @internal */
  _progress(progress: TaskProgress): void {
    emitToEach(this, 'progress', progress);
  }

  /** @internal */
  _response(event: NativeEvent): void {
    this.#response = {
      statusCode: event.statusCode ?? 0,
      headers: headerRecord(event.headers ?? []),
      url: event.url ?? this.#setup.url,
    };
    emitToEach(this, 'response', this.#response);
    if (this.#setup.stream && !(this.#setup.throwHttpErrors && this.#response.statusCode >= 400)) {
      // The Readable asks for more through read(): that is when the engine may send more.
      this.#stream = new Readable({ read: () => this.#acknowledge() });
      this.#resolve({ ...this.#response, body: this.#stream } as Result);
    }
  }

  /**
   * @internal A piece of a streamed body (stream: true). `ends`: the same batch of events
   * completes the task, so the engine waits for no acknowledgment of it.
   */
  _body(chunk: Buffer, ends: boolean): void {
    this.#unacknowledged += chunk.length;
    if (this.#stream !== undefined) {
      if (this.#stream.push(chunk) && !ends) this.#acknowledge();
      return;
    }
    // An HTTP error in stream mode: keep its first bytes for the HTTPError.
    const kept = this.#errorBody.reduce((sum, part) => sum + part.length, 0);
    if (kept < BODY_EXCERPT_LIMIT) this.#errorBody.push(chunk);
    if (!ends) this.#acknowledge();
  }

  #acknowledge(): void {
    if (this.#unacknowledged === 0 || this.#state === 'completed') return;
    this.#controls.acknowledge(this.taskIdentifier, this.#unacknowledged);
    this.#unacknowledged = 0;
  }

  /**
   * @internal Whether the failed attempt described by `event` is retried, and after how long
   * (-1: not retried). Emits 'retry' when it is.
   */
  _retryDelay(event: NativeEvent): number {
    const policy = this.#setup.retry ?? NO_RETRY;
    const errorCode = event.errorCode ?? 0;
    if (errorCode === NSURLError.Cancelled || this.#state === 'canceling' || this.#stream !== undefined) return -1;
    const statusCode = errorCode === 0 ? (this.#response?.statusCode ?? event.statusCode ?? 0) : 0;
    if (errorCode === 0 && statusCode < 400) return -1;
    const delayMs = retryDelay(
      policy,
      this.#attempt + 1,
      this.#setup.method,
      errorCode,
      statusCode,
      this.#response?.headers['retry-after'],
    );
    if (delayMs < 0) return -1;
    this.#attempt += 1;
    this.#response = undefined;
    emitToEach(this, 'retry', { attempt: this.#attempt, delayMs, errorCode, statusCode } satisfies TaskRetry);
    return delayMs;
  }

  /**
   * @internal The engine's TaskCompleted, plus the downloaded file's location and, for a
   * failure the engine never saw (a body that could not be read), the error behind it.
   */
  _complete(event: NativeEvent, location: string | undefined, cause?: unknown): void {
    this.#state = 'completed';
    if (this.#onAbort !== undefined) this.#setup.signal?.removeEventListener('abort', this.#onAbort);
    const errorCode = event.errorCode ?? 0;
    const resumeData = this.#takeResumeData(event);
    if (this.#resumeDataWaiter !== undefined) this.#resumeDataWaiter(resumeData);
    if (errorCode !== 0) {
      if (errorCode === NSURLError.Cancelled)
        return this.#fail(new AbortError(this.#aborted ? this.#setup.signal?.reason : undefined));
      const error =
        errorCode === NSURLError.IntegrityMismatch
          ? new IntegrityError(event.message ?? '', this.#setup.url)
          : new TransferError(
              errorCode,
              event.message ?? '',
              this.#setup.url,
              cause === undefined ? undefined : { cause },
            );
      if (resumeData !== null) error.resumeData = resumeData;
      return this.#fail(error);
    }
    const response: TaskResponse = this.#response ?? {
      statusCode: event.statusCode ?? 0,
      headers: {},
      url: event.url ?? this.#setup.url,
    };
    if (this.#stream !== undefined) {
      this.#stream.push(null);
      emitToEach(this, 'complete', { ...response, metrics: event.metrics });
      return;
    }
    const body = this.#setup.stream ? Buffer.concat(this.#errorBody) : (event.responseBody ?? Buffer.alloc(0));
    if (this.#setup.throwHttpErrors && response.statusCode >= 400) return this.#fail(new HTTPError(response, body));
    const metrics = event.metrics as TaskMetrics;
    const result =
      this.kind === 'download' ? { ...response, location: location ?? '', metrics } : { ...response, body, metrics };
    this.#resolve(result as Result);
    emitToEach(this, 'complete', result);
  }

  // A failed download's partial file becomes resume data when the server gave a validator and
  // bytes arrived; otherwise (or when nobody can use it) the file is removed.
  #takeResumeData(event: NativeEvent): Buffer | null {
    const template = this.#setup.resumeTemplate;
    if (event.partialPath === undefined) return null;
    const usable = template !== undefined && (event.partialBytes ?? 0) > 0 && (event.validator ?? '') !== '';
    const wanted = event.errorCode !== NSURLError.Cancelled || this.#resumeDataWaiter !== undefined;
    if (!usable || !wanted) {
      removeOwnPartial(event.partialPath, event.partialIdentity);
      return null;
    }
    return encodeResumeData({
      ...template,
      partialPath: event.partialPath,
      partialIdentity: event.partialIdentity ?? '',
      offset: event.partialBytes ?? 0,
      validator: event.validator ?? '',
      segmentPlan: event.segments ?? '',
    });
  }

  #fail(error: TaskError): void {
    this.#stream?.destroy(error);
    this.#reject(error);
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}
