// Where an engine event goes: one batch from the bridge becomes Titanium's events (on the
// session and the module), the promise-API Task's callbacks, journal entries and task-table
// updates, in the engine's order. A batch holding a finished download waits for its file-backed
// Blob, and later batches queue behind it so the order never changes. Knows nothing of the
// addon: the session hands it what it needs (RouterHost). JS thread only.
import { debuglog } from 'node:util';
import { downloadBlobs, responseContentType } from './download-blob';
import { NSURLError } from './errors';
import { runListener, type Fanout } from './listeners';
import type { NativeEvent } from './native';
import { EventType } from './native-constants';
import { TASK_KIND_NAMES, takeProgress, type SessionCore, type TaskKindName, type TaskRecord } from './task-table';
import type { URLSessionEventMap } from './types';

const debug = debuglog('urlsession');

/** The session's side of routing. */
export interface RouterHost extends SessionCore {
  readonly fanout: Fanout;
  /** The session takes new work (not invalidating): a failure may be retried. */
  isActive(): boolean;
  /** A promise-API task failed and its retry policy asks for another attempt after `delayMs`. */
  retry(taskIdentifier: number, record: TaskRecord, failure: NativeEvent, delayMs: number): void;
  /** nsurlsessiond kept this task of an earlier process (macOS system sessions). */
  recovered(taskIdentifier: number, kind: TaskKindName, url: string, taskDescription: string): void;
  /** reset()/flush() with this token finished. */
  tokenCompleted(token: number): void;
  /** The engine invalidated the session: every task has ended and been delivered. */
  invalidated(): void;
  /** A task's record left the table: it completed (its place under maximumConcurrentTasks frees). */
  ended(record: TaskRecord): void;
}

export class EventRouter {
  readonly #host: RouterHost;
  /** The batch waiting for its Blobs, if any: later batches chain behind it. */
  #delivery: Promise<void> | null = null;

  constructor(host: RouterHost) {
    this.#host = host;
  }

  /** One batch per wake-up of the bridge (or events the session makes itself). */
  receive(events: NativeEvent[]): void {
    // Titanium's downloadcompleted carries the file as a Blob: made only for someone listening.
    const needsBlobs =
      events.some((event) => event.type === EventType.DownloadCompleted) && this.#host.fanout.has('downloadcompleted');
    if (this.#delivery === null && !needsBlobs) {
      this.#dispatch(events, new Map());
      return;
    }
    const previous = this.#delivery ?? Promise.resolve();
    const next = previous.then(async () => {
      const blobs = await downloadBlobs(events, (id) => this.#host.tasks.get(id)?.contentType);
      // A throw here must not reject the chain: every later batch waits on this promise.
      runListener(() => this.#dispatch(events, blobs));
    });
    this.#delivery = next;
    void next.finally(() => {
      if (this.#delivery === next) this.#delivery = null;
    });
  }

  #dispatch(events: NativeEvent[], blobs: Map<NativeEvent, Blob>): void {
    const host = this.#host;
    const sessionIdentifier = host.identifier;
    // Tasks this batch completes, looked for at the batch's first body piece: their pieces need no
    // acknowledgment (a wake-up of the engine for a transfer that has ended).
    let completing: Set<number> | undefined;
    for (const event of events) {
      const taskIdentifier = event.taskIdentifier;
      const record = host.tasks.get(taskIdentifier);
      switch (event.type) {
        case EventType.DownloadProgress:
        case EventType.UploadProgress:
          if (record !== undefined) this.#progress(record, event);
          if (event.segments !== undefined) host.persistence?.segmentsProgressed(taskIdentifier, event.segments);
          break;
        case EventType.Response:
          if (record === undefined) break;
          record.expected = event.expectedBytes ?? 0;
          record.contentType = responseContentType(event.headers);
          host.persistence?.responseArrived(taskIdentifier, event);
          if (record.task !== undefined) runListener(() => record.task?._response(event));
          break;
        case EventType.DownloadCompleted:
          if (record === undefined) break;
          record.location = event.location;
          host.fanout.emit('downloadcompleted', () => ({
            taskIdentifier,
            sessionIdentifier,
            location: event.location as string,
            data: blobs.get(event) ?? new Blob([]),
            statusCode: event.statusCode ?? 0,
          }));
          break;
        case EventType.TaskRecovered:
          host.recovered(
            taskIdentifier,
            TASK_KIND_NAMES[event.kind ?? 0],
            event.url ?? '',
            event.taskDescription ?? '',
          );
          break;
        case EventType.BackgroundEventsDelivered:
          // macOS: nsurlsessiond handed over everything it held for a relaunched app (Titanium's
          // meaning of the event). Elsewhere the event fires when outstanding tasks drain.
          host.fanout.emit('sessioneventscompleted', { sessionIdentifier });
          break;
        case EventType.BodyData:
          if (record?.task !== undefined && event.chunk !== undefined) {
            const chunk = event.chunk;
            completing ??= completedIn(events);
            const ends = completing.has(taskIdentifier);
            runListener(() => record.task?._body(chunk, ends));
          }
          break;
        case EventType.BodyWanted:
          record?.bodyPump?.wanted();
          break;
        case EventType.TaskCompleted:
          if (record !== undefined) this.#completed(taskIdentifier, record, event);
          break;
        case EventType.ResetCompleted:
        case EventType.FlushCompleted:
          host.tokenCompleted(event.token as number);
          break;
        case EventType.SessionInvalidated:
          host.invalidated();
          break;
        default:
          break;
      }
    }
  }

  #completed(taskIdentifier: number, record: TaskRecord, event: NativeEvent): void {
    const host = this.#host;
    // A streamed request body is gone once sent: such a task is never retried.
    const pump = record.bodyPump;
    record.bodyPump = undefined;
    pump?.stop();
    if (pump?.failure !== undefined) record.cause ??= pump.failure;
    if (pump === undefined && record.task !== undefined && record.request !== undefined && host.isActive()) {
      const task = record.task;
      let delayMs = -1;
      runListener(() => {
        delayMs = task._retryDelay(event);
      });
      if (delayMs >= 0) {
        if (debug.enabled)
          debug(
            'task %d of %s: retry in %d ms (error %d, status %d)',
            taskIdentifier,
            host.identifier,
            delayMs,
            event.errorCode ?? 0,
            event.statusCode ?? 0,
          );
        host.retry(taskIdentifier, record, event, delayMs);
        return;
      }
    }
    host.tasks.delete(taskIdentifier);
    host.ended(record);
    // Journaled before any listener runs, marked delivered after: at-least-once delivery.
    host.persistence?.completed(record.kind, event, record.location);
    if (debug.enabled)
      debug(
        'task %d of %s completed: error %d, status %d',
        taskIdentifier,
        host.identifier,
        event.errorCode ?? 0,
        event.statusCode ?? 0,
      );
    host.fanout.emit('sessioncompleted', () => titaniumCompletion(record.kind, event, host.identifier));
    if (record.task !== undefined) runListener(() => record.task?._complete(event, record.location, record.cause));
    host.persistence?.delivered(taskIdentifier);
    if (host.tasks.size === 0) host.fanout.emit('sessioneventscompleted', { sessionIdentifier: host.identifier });
  }

  // One progress event, in Titanium's shape (with the delta since the previous one) and, for
  // promise-API tasks, as the Task's 'progress'.
  #progress(record: TaskRecord, event: NativeEvent): void {
    const { download, total, expected, delta, bytesPerSecond, secondsRemaining } = takeProgress(
      record,
      event,
      performance.now(),
    );
    if (record.task !== undefined) {
      runListener(() =>
        record.task?._progress({
          direction: download ? 'download' : 'upload',
          transferred: total,
          expected,
          bytesPerSecond,
          secondsRemaining,
        }),
      );
    }
    const base = { taskIdentifier: event.taskIdentifier, sessionIdentifier: this.#host.identifier };
    if (download) {
      this.#host.fanout.emit('downloadprogress', {
        ...base,
        bytesWritten: delta,
        totalBytesWritten: total,
        totalBytesExpectedToWrite: expected,
        bytesPerSecond,
        secondsRemaining,
      });
    } else {
      this.#host.fanout.emit('uploadprogress', {
        ...base,
        bytesSent: delta,
        totalBytesSent: total,
        totalBytesExpectedToSend: expected,
        bytesPerSecond,
        secondsRemaining,
      });
    }
  }
}

// Titanium's sessioncompleted. A body too long for one JS string (only possible when
// maximumResponseSize was raised past V8's string limit) cannot become responseText: the
// completion still arrives, as the failure -1103 with an empty responseText.
function titaniumCompletion(
  kind: TaskKindName,
  event: NativeEvent,
  sessionIdentifier: string,
): URLSessionEventMap['sessioncompleted'] {
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

function completedIn(events: NativeEvent[]): Set<number> {
  const completed = new Set<number>();
  for (const event of events) if (event.type === EventType.TaskCompleted) completed.add(event.taskIdentifier);
  return completed;
}
