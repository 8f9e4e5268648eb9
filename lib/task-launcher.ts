// Starting a session's tasks: each gets the next identifier and a task-table record at once;
// its request reaches the journal (persistent sessions) and then the engine as soon as its body
// is ready (a Blob is read first; its identifier is reserved meanwhile so no later process gives
// it out again). A task that never reaches the engine still completes, after the caller's stack.
// Knows nothing of the addon: the session hands it what it needs (LauncherHost). JS thread only.
import { debuglog } from 'node:util';
import type { EngineBody } from './body';
import { NSURLError } from './errors';
import type { NativeEvent, NativeTaskRequest } from './native';
import { EventType } from './native-constants';
import { sweepStalePartials } from './partial-sweep';
import { withBody, type TaskRequest } from './requests';
import type { AnyTask } from './task';
import { newTaskRecord, type SessionCore } from './task-table';
import { redactUrl } from './validate';

const debug = debuglog('urlsession');

/** The session's side of starting tasks. */
export interface LauncherHost extends SessionCore {
  /** Where a download without a folder of its own goes. */
  readonly downloadDirectory: string;
  /** Takes the next task identifier. */
  takeIdentifier(): number;
  /** The session is invalidated: a body that becomes ready now starts nothing. */
  isInvalidated(): boolean;
  /** Hands a request to the engine. */
  startNative(request: NativeTaskRequest, taskDescription: string): void;
  /** Routes events as if the engine had sent them. */
  deliver(events: NativeEvent[]): void;
}

export class TaskLauncher {
  readonly #host: LauncherHost;
  /** Tasks whose body is still being read: they count as started for finishTasksAndInvalidate. */
  readonly pending = new Set<Promise<void>>();

  constructor(host: LauncherHost) {
    this.#host = host;
  }

  /** Starts a task; returns its identifier. `task`: the promise-API face, when there is one. */
  start({ kind, request, body, taskDescription }: TaskRequest, task?: AnyTask): number {
    const host = this.#host;
    const taskIdentifier = host.takeIdentifier();
    const full: NativeTaskRequest = { ...request, taskIdentifier };
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
            this.#launch(full, ready);
          },
          (error: unknown) => this.completeUnstarted(taskIdentifier, NSURLError.CannotOpenFile, error),
        )
        .finally(() => this.pending.delete(pending));
      this.pending.add(pending);
    } else {
      this.#launch(full, body);
    }
    return taskIdentifier;
  }

  #launch(request: NativeTaskRequest, ready: EngineBody): void {
    const host = this.#host;
    const record = host.tasks.get(request.taskIdentifier);
    if (record?.task !== undefined) record.request = request;
    if (record?.speedLimit !== undefined) request.maximumBytesPerSecond = record.speedLimit;
    withBody(request, ready);
    // Redacting costs a regular expression per task: only when NODE_DEBUG asks for the line.
    if (debug.enabled)
      debug('task %d of %s: %s %s', request.taskIdentifier, host.identifier, request.method, redactUrl(request.url));
    if (host.persistence !== undefined && record !== undefined)
      host.persistence.prepare(request, record.taskDescription);
    host.startNative(request, record?.taskDescription ?? '');
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
