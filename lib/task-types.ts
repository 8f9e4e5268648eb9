// The promise API's public shapes: what a Task resolves with, what its events carry, and the
// event map that types every listener method of a Task (on, once, addListener, off, ...).
// Types only.
import type { Readable } from 'node:stream';
import type { ResponseHeaders } from './headers';
import type { NativeMetrics } from './native';
import type { AbortError, HTTPError, TransferError } from './task-errors';
import type { TransferRateFields } from './types';

export type TaskState = 'running' | 'suspended' | 'canceling' | 'completed';

/** What the server answered: status, headers (see ResponseHeaders) and the final URL. */
export interface TaskResponse {
  statusCode: number;
  headers: ResponseHeaders;
  url: string;
}

/** Timing and transport facts of a finished task, with the same names on every engine. */
export type TaskMetrics = NativeMetrics;

export interface DownloadResult extends TaskResponse {
  /** Absolute path of the finished file. */
  location: string;
  metrics: TaskMetrics;
}

export interface RequestResult extends TaskResponse {
  body: Buffer;
  metrics: TaskMetrics;
}

/** request(url, { stream: true }) resolves at the response head with the body as a Readable. */
export interface StreamResult extends TaskResponse {
  body: Readable;
}

/** 'complete' of a streamed request: the body went through the Readable; the metrics arrive now. */
export interface StreamCompletion extends TaskResponse {
  metrics: TaskMetrics;
}

export interface TaskRetry {
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  errorCode: number;
  statusCode: number;
}

export interface TaskProgress extends TransferRateFields {
  /** 'download' for response bytes, 'upload' for request body bytes. */
  direction: 'download' | 'upload';
  transferred: number;
  /** 0 when unknown. */
  expected: number;
}

/** What `done` rejects with and 'error' carries (an IntegrityError is a TransferError). */
export type TaskError = HTTPError | TransferError | AbortError;

/** The events of a Task whose `done` resolves with `Result`, each with its listener's arguments. */
export interface TaskEventMap<Result> {
  progress: [progress: TaskProgress];
  response: [response: TaskResponse];
  retry: [retry: TaskRetry];
  complete: [result: Result extends StreamResult ? StreamCompletion : Result];
  error: [error: TaskError];
}
