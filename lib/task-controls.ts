// What a session does when the app acts on one of its tasks: cancel, suspend, resume, acknowledge
// streamed bytes, change the speed limit. A task is in one of three places (its Blob body still
// being read or a retry's backoff; waiting for a place under maximumConcurrentTasks; in the
// engine), and each call goes to the place the task is. JS thread only.
import { NSURLError } from './errors';
import type { NativeSession } from './native';
import type { TaskLauncher } from './task-launcher';
import type { TaskRecord } from './task-table';

/** The session's side of task controls. */
export interface TaskControlsHost {
  readonly tasks: Map<number, TaskRecord>;
  readonly native: NativeSession;
  readonly launcher: TaskLauncher;
  /** The engine has invalidated the session: it takes no more calls about tasks. */
  isInvalidated(): boolean;
}

export class SessionTaskControls {
  readonly #host: TaskControlsHost;

  constructor(host: TaskControlsHost) {
    this.#host = host;
  }

  /** False when the task is unknown or already completed. */
  cancel(taskIdentifier: number): boolean {
    const host = this.#host;
    const record = host.tasks.get(taskIdentifier);
    if (record === undefined) return false;
    if (notInEngine(record)) host.launcher.completeUnstarted(taskIdentifier, NSURLError.Cancelled);
    else host.native.cancelTask(taskIdentifier);
    return true;
  }

  /** invalidateAndCancel(): every task the engine does not have yet completes as cancelled now. */
  cancelOutsideEngine(): void {
    for (const [taskIdentifier, record] of this.#host.tasks) {
      if (notInEngine(record)) this.#host.launcher.completeUnstarted(taskIdentifier, NSURLError.Cancelled);
    }
  }

  /** A waiting task starts suspended (or not); a running one is suspended (or resumed) in the engine. */
  suspend(taskIdentifier: number, suspended: boolean): void {
    const record = this.#host.tasks.get(taskIdentifier);
    if (record?.waiting !== undefined) record.suspendWhenAdmitted = suspended;
    else if (suspended) this.#inEngine(taskIdentifier, () => this.#host.native.suspendTask(taskIdentifier));
    else this.#inEngine(taskIdentifier, () => this.#host.native.resumeTask(taskIdentifier));
  }

  /** Streamed body bytes the app has taken (the engine may read on). */
  acknowledge(taskIdentifier: number, bytes: number): void {
    this.#inEngine(taskIdentifier, () => this.#host.native.acknowledgeBody(taskIdentifier, bytes));
  }

  /**
   * A speed limit (bytes per second, 0: none, already checked): the session's when
   * taskIdentifier is 0, else a task's, kept for its retries and for a task that has not reached
   * the engine yet. False when the task is unknown or already completed.
   */
  setSpeedLimit(taskIdentifier: number, bytesPerSecond: number): boolean {
    const host = this.#host;
    if (taskIdentifier === 0) {
      if (!host.isInvalidated()) host.native.setSpeedLimit(0, bytesPerSecond);
      return true;
    }
    const record = host.tasks.get(taskIdentifier);
    if (record === undefined) return false;
    record.speedLimit = bytesPerSecond;
    if (record.request !== undefined) record.request.maximumBytesPerSecond = bytesPerSecond;
    if (record.waiting !== undefined) record.waiting.request.maximumBytesPerSecond = bytesPerSecond;
    this.#inEngine(taskIdentifier, () => host.native.setSpeedLimit(taskIdentifier, bytesPerSecond));
    return true;
  }

  #inEngine(taskIdentifier: number, call: () => void): void {
    const record = this.#host.tasks.get(taskIdentifier);
    if (record !== undefined && !notInEngine(record) && !this.#host.isInvalidated()) call();
  }
}

/** Its body is being read, it waits for a place, or it waits for a retry: the engine has it not. */
function notInEngine(record: TaskRecord): boolean {
  return record.starting || record.waiting !== undefined || record.retryTimer !== undefined;
}
