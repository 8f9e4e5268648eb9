// A promise-API task's next attempt after a retryable failure (lib/retry.ts decides whether and
// when): a download continues from the bytes it kept when the server gave a validator, else its
// partial file goes and it starts over; the timer waits out the backoff. JS thread only.
import type { NativeEvent, NativeTaskRequest } from './native';
import { removeOwnPartial } from './partial-files';
import type { TaskRecord } from './task-table';

/**
 * Arms `record`'s retry: `start` runs after `delayMs` with the request to send again, unless
 * `stillWanted` says the task or its session is gone by then.
 */
export function scheduleRetry(
  record: TaskRecord,
  failure: NativeEvent,
  delayMs: number,
  stillWanted: () => boolean,
  start: (request: NativeTaskRequest) => void,
): void {
  const request = record.request as NativeTaskRequest;
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
  record.pendingFailure = { ...failure, partialPath: undefined };
  record.retryTimer = setTimeout(() => {
    record.retryTimer = undefined;
    record.pendingFailure = undefined;
    if (!stillWanted()) return;
    // A resumed retry continues from the kept bytes: they are not news to bytesWritten.
    record.lastDownloadTotal = request.resumePartialPath !== undefined ? (request.resumeOffset ?? 0) : 0;
    record.lastUploadTotal = 0;
    start(request);
  }, delayMs);
}

/**
 * An invalidating session starts nothing new: each retry still waiting is stopped, and the
 * failure it retried is handed to `report` (before the engine's 'invalidated', which waits for
 * running tasks only).
 */
export function abandonRetries(records: Iterable<TaskRecord>, report: (failure: NativeEvent) => void): void {
  for (const record of records) {
    if (record.retryTimer === undefined || record.pendingFailure === undefined) continue;
    clearTimeout(record.retryTimer);
    record.retryTimer = undefined;
    report(record.pendingFailure);
  }
}
