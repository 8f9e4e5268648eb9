// A new process re-creates a persistent session: what the dead one left is taken up again.
// Unfinished tasks go back to the engine (downloads from their bytes on disk), completions it
// reported but never delivered are delivered, and tasks whose in-memory body died with it are
// reported failed. JS thread only, inside createSession: nothing is delivered before the
// caller's synchronous code (where it attaches listeners) has run.
import { debuglog } from 'node:util';
import { NSURLError } from './errors';
import type { Fanout } from './listeners';
import type { NativeEvent, NativeTaskRequest } from './native';
import { EventType } from './native-constants';
import type { SessionPersistence } from './persistence';
import { newTaskRecord, type TaskRecord } from './task-table';

const debug = debuglog('urlsession');

/** The session's side of re-attaching. */
export interface ReattachHost {
  readonly identifier: string;
  readonly tasks: Map<number, TaskRecord>;
  readonly fanout: Fanout;
  /** Hands a request to the engine. */
  start(request: NativeTaskRequest, taskDescription: string): void;
  /** Routes events as if the engine had sent them. */
  deliver(events: NativeEvent[]): void;
}

export function reattach(persistence: SessionPersistence, host: ReattachHost): void {
  const setAside = persistence.journal.setAside;
  // process.nextTick: after the caller's synchronous code (where it attaches listeners), and
  // before any engine event can arrive.
  if (setAside !== undefined) {
    process.nextTick(() =>
      host.fanout.emit('warning', {
        sessionIdentifier: host.identifier,
        message: `the journal ${setAside.reason} and was set aside; the session started clean`,
        path: setAside.path,
      }),
    );
  }
  for (const { request, taskDescription, kind, expectedBytes } of persistence.recoverableRequests()) {
    debug(
      'task %d of %s: re-attached, resuming from %d bytes',
      request.taskIdentifier,
      host.identifier,
      request.resumeOffset ?? 0,
    );
    const record = newTaskRecord(kind, request.url, taskDescription);
    // getAllTasks() at once shows the kept bytes and the known size, and the first progress
    // event's bytesWritten counts only what arrives now.
    record.lastDownloadTotal = request.resumeOffset ?? 0;
    record.expected = request.resumeOffset ? expectedBytes : 0;
    host.tasks.set(request.taskIdentifier, record);
    host.start(request, taskDescription);
  }
  const undelivered = persistence.undeliveredEvents();
  for (const { kind, events } of undelivered) {
    host.tasks.set(events[0].taskIdentifier, newTaskRecord(kind, '', ''));
  }
  // A task whose body lived only in the dead process's memory (streamed from JS, or its state folder was full)
  // cannot run again: it completes as failed, so that the app hears how it ended.
  const lost: NativeEvent[] = persistence.lostTasks().map((task) => {
    host.tasks.set(task.taskIdentifier, newTaskRecord(task.kind, task.url, task.taskDescription));
    return {
      type: EventType.TaskCompleted,
      taskIdentifier: task.taskIdentifier,
      errorCode: NSURLError.CannotOpenFile,
      message:
        'The request body did not survive the process: it was streamed from that process, or the state folder could not store it.',
      statusCode: 0,
    };
  });
  const pending = [...undelivered.flatMap((entry) => entry.events), ...lost];
  if (pending.length > 0) process.nextTick(() => host.deliver(pending));
}
