// What a session knows about each outstanding task (the task table's record), what
// getAllTasks() reports of it, and the progress bookkeeping that turns the engine's running
// totals into Titanium's deltas. Plain data and pure functions; JS thread only.
import type { NativeEvent, NativeTaskRequest } from './native';
import { EventType } from './native-constants';
import type { SessionPersistence } from './persistence';
import type { RequestBodyPump } from './request-body-stream';
import type { AnyTask } from './task';
import { TransferRate, type RateSample } from './transfer-rate';

/** Task kinds by name, in the order of the wire's TaskKind numbers (lib/native-constants.ts). */
export const TASK_KIND_NAMES = ['download', 'upload', 'data'] as const;
export type TaskKindName = (typeof TASK_KIND_NAMES)[number];

/** What session.getAllTasks() reports for each outstanding task. */
export interface TaskInfo {
  taskIdentifier: number;
  url: string;
  kind: TaskKindName;
  state: 'running' | 'suspended' | 'starting' | 'waiting' | 'waitingToRetry';
  /** Download: bytes written so far (including bytes kept from before a restart); upload: bytes sent. */
  bytesTransferred: number;
  /** Content-Length or upload size; 0 when unknown. */
  bytesExpected: number;
  taskDescription: string;
}

export interface TaskRecord {
  kind: TaskKindName;
  url: string;
  taskDescription: string;
  expected: number;
  /** The promise-API face of the task, for session.download/upload/request. */
  task?: AnyTask;
  location?: string;
  /** What the engine was given, kept for retries of promise-API tasks. */
  request?: NativeTaskRequest;
  /** The latest setSpeedLimit, for a task whose body was still being read (starting). */
  speedLimit?: number;
  /** A retry waiting for its backoff, and the failure it would report if it never runs. */
  retryTimer?: NodeJS.Timeout;
  pendingFailure?: NativeEvent;
  /** A request body streamed from JS (lib/request-body-stream.ts), until the task ends. */
  bodyPump?: RequestBodyPump;
  /** The JS error behind a failure the engine never saw (a Blob body that could not be read). */
  cause?: unknown;
  /** Body still being read (Blob); the engine has not seen the task yet. */
  starting: boolean;
  /** Waiting for a place under maximumConcurrentTasks (lib/task-launcher.ts): what it will start with. */
  waiting?: { request: NativeTaskRequest; taskDescription: string };
  /** Handed to the engine by the launcher, and not yet ended: it holds a place. */
  admitted?: boolean;
  /** suspend() came while the task waited: it starts suspended. */
  suspendWhenAdmitted?: boolean;
  lastDownloadTotal: number;
  lastUploadTotal: number;
  /** The live rates, made at each direction's first progress event. */
  downloadRate?: TransferRate;
  uploadRate?: TransferRate;
  /** The latest response's Content-Type: the type of downloadcompleted's Blob. */
  contentType?: string;
}

export function newTaskRecord(kind: TaskKindName, url: string, taskDescription: string, task?: AnyTask): TaskRecord {
  return { kind, url, taskDescription, expected: 0, task, starting: false, lastDownloadTotal: 0, lastUploadTotal: 0 };
}

export function taskInfo(taskIdentifier: number, record: TaskRecord): TaskInfo {
  const state = record.starting
    ? 'starting'
    : record.waiting !== undefined
      ? 'waiting'
      : record.retryTimer !== undefined
        ? 'waitingToRetry'
        : record.task?.state === 'suspended'
          ? 'suspended'
          : 'running';
  return {
    taskIdentifier,
    url: record.url,
    kind: record.kind,
    state,
    bytesTransferred: record.kind === 'download' ? record.lastDownloadTotal : record.lastUploadTotal,
    bytesExpected: record.expected,
    taskDescription: record.taskDescription,
  };
}

/** A progress event measured against the record: its direction, total, expected size and the bytes since the previous one. */
export interface ProgressStep extends RateSample {
  download: boolean;
  total: number;
  expected: number;
  delta: number;
}

/** Advances the record's totals and rate by one progress event (`nowMs`: performance.now()). */
export function takeProgress(record: TaskRecord, event: NativeEvent, nowMs: number): ProgressStep {
  const download = event.type === EventType.DownloadProgress;
  const total = event.totalBytes ?? 0;
  const expected = event.expectedBytes ?? 0;
  const previous = download ? record.lastDownloadTotal : record.lastUploadTotal;
  // A total below the previous one is a restart from zero (200 instead of 206, a retried
  // upload): everything it reports arrived since.
  const delta = total >= previous ? total - previous : total;
  if (download) record.lastDownloadTotal = total;
  else record.lastUploadTotal = total;
  const rate = download ? (record.downloadRate ??= new TransferRate()) : (record.uploadRate ??= new TransferRate());
  return { download, total, expected, delta, ...rate.sample(delta, total, expected, nowMs) };
}

/** What every part of a session that handles its tasks shares: its name, its table, its journal. */
export interface SessionCore {
  readonly identifier: string;
  readonly tasks: Map<number, TaskRecord>;
  /** Persistent (emulated) sessions only. */
  readonly persistence: SessionPersistence | undefined;
}
