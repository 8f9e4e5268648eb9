// Glue between a Session and its Journal: what to record when, and how to rebuild engine
// requests after a restart. JS thread only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Journal, type JournaledCompletion, type JournaledTask, type JournalWarning } from './journal';
import { writeNewFile } from './state-directory';
import { CommittedDownloads } from './committed-download';
import { TASK_KIND_NAMES } from './task-table';
import { newPartialPath, removeOwnPartial } from './partial-files';
import { createJournaledPartial, resumeOrRenewPartial } from './journaled-partials';
import { EventType, TaskKind } from './native-constants';
import { NSURLError } from './errors';
import type { NativeEvent, NativeTaskKind, NativeTaskRequest } from './native';

/** Response bodies up to this size are kept in the journal for redelivery after a crash: past it
 * their base64 text and the journal holding it would near V8's longest string. */
export const JOURNALED_RESPONSE_LIMIT = 256 * 1024 * 1024;

/** A running segmented download's plan is journaled at most this often (see segmentsProgressed). */
export const PLAN_JOURNAL_INTERVAL_MS = 1000;

/** The segments of a plan's text ("start-next-end,..."; '' has none), counted without splitting it. */
function segmentCount(plan: string): number {
  if (plan === '') return 0;
  let count = 1;
  for (let comma = plan.indexOf(','); comma !== -1; comma = plan.indexOf(',', comma + 1)) count++;
  return count;
}

/** Upload bodies this module keeps in the state folder: body-<task>-<random> (body-<task> before). */
const BODY_NAME = /^body-\d+(-[0-9a-f]+)?$/;

/** A journaled task whose body did not survive the process that started it (see JournaledTask.bodyInMemory). */
export interface LostTask {
  taskIdentifier: number;
  kind: JournaledTask['kind'];
  url: string;
  taskDescription: string;
}

export class SessionPersistence {
  readonly journal: Journal;
  /** The body files this module wrote, by task: removed when their task completes (also after reset()). */
  #bodies = new Map<number, string>();
  /** When each running segmented download's plan was last journaled (performance.now()). */
  #planJournaledAt = new Map<number, number>();

  /** `onWarning` hears of writes into the state folder that fail (one warning per episode). */
  /** `heldLock`: the state folder's lock, already taken (lib/journal.ts lockStateDirectory); the journal owns it from here. */
  constructor(directory: string, onWarning?: (warning: JournalWarning) => void, heldLock?: number) {
    this.journal = Journal.open(directory, onWarning, heldLock);
    this.#removeOrphanBodies();
    for (const task of this.journal.tasks.values()) {
      if (this.#isOwnBody(task.bodyPath)) this.#bodies.set(task.taskIdentifier, task.bodyPath);
    }
  }

  // Bodies no journaled task refers to: their task finished, or the process died before the
  // journal named them. The lock is held, so no other session is writing one right now. Best
  // effort: tidying up never keeps the session from opening.
  #removeOrphanBodies(): void {
    const referenced = new Set([...this.journal.tasks.values()].map((t) => t.bodyPath));
    try {
      for (const name of fs.readdirSync(this.journal.directory)) {
        const file = path.join(this.journal.directory, name);
        if (BODY_NAME.test(name) && !referenced.has(file)) fs.rmSync(file, { force: true });
      }
    } catch {
      // left for the next open
    }
  }

  // Only a body this module wrote: an upload from a file names the app's own file.
  #isOwnBody(file: string | undefined): file is string {
    return file !== undefined && path.dirname(file) === this.journal.directory && BODY_NAME.test(path.basename(file));
  }

  get nextTaskIdentifier(): number {
    return this.journal.nextTaskIdentifier;
  }

  /**
   * Prepares a request so that it survives the process: downloads write to a partial file whose
   * name the journal knows; in-memory bodies are written to the state directory first (as
   * NSURLSession's background sessions require files).
   */
  prepare(request: NativeTaskRequest, taskDescription: string): void {
    const id = request.taskIdentifier;
    // A new download's partial file: the journal names it before it exists, and its identity
    // once it does, so a kill between the two leaves a name the next process clears (an empty
    // file the engine never saw), never a file no journal knows.
    const newPartial = request.kind === TaskKind.Download && request.resumePartialPath === undefined;
    if (newPartial) {
      request.resumePartialPath = newPartialPath(request.downloadDirectory as string);
      request.resumeOffset = 0;
    }
    // A body streamed from JS cannot be sent again by a later process either.
    let bodyInMemory = request.streamedBody === true;
    if (request.body !== undefined) {
      // The body file's one job: hold an in-memory body so that a later process can send it again.
      const bodyFile = path.join(this.journal.directory, `body-${id}-${randomBytes(6).toString('hex')}`);
      try {
        writeNewFile(bodyFile, request.body);
        this.#bodies.set(id, bodyFile);
        request.bodyPath = bodyFile;
        delete request.body;
      } catch (error) {
        // A full state folder must not fail the task: the engine sends the body from memory, and
        // the journal says that the body does not survive this process.
        bodyInMemory = true;
        this.journal.writeFailed(
          bodyFile,
          error,
          (code) =>
            `the body of task ${id} could not be stored in the state folder (${code}): the task runs from memory and does not survive this process`,
        );
      }
    }
    this.journal.upsertTask({
      taskIdentifier: id,
      kind: TASK_KIND_NAMES[request.kind],
      url: request.url,
      method: request.method,
      headers: request.headers,
      taskDescription,
      bodyPath: request.bodyPath,
      ...(bodyInMemory ? { bodyInMemory } : {}),
      downloadDirectory: request.downloadDirectory,
      downloadFileName: request.downloadFileName,
      nameFromResponse: request.nameFromResponse,
      overwrite: request.overwrite,
      partialPath: request.resumePartialPath,
      partialIdentity: request.resumeIdentity,
      ...(request.segments === undefined ? {} : { segments: request.segments }),
    });
    if (newPartial) {
      try {
        createJournaledPartial(this.journal, request);
      } catch (error) {
        // The folder cannot hold files: the task is not started, and not journaled either.
        this.journal.removeTask(id);
        throw error;
      }
    }
  }

  /**
   * A task got `taskIdentifier` but reaches prepare() only later (its body is still being read):
   * the identifier is journaled at once so that no later process gives it out again.
   */
  reserve(taskIdentifier: number): void {
    this.journal.reserve(taskIdentifier + 1);
  }

  /** Remembers the validator that makes a later Range request safe (the engine's ResumeValidator). */
  responseArrived(taskIdentifier: number, event: NativeEvent): void {
    const task = this.journal.tasks.get(taskIdentifier);
    if (task === undefined || task.kind !== 'download') return;
    this.journal.patchTask(taskIdentifier, {
      validator: event.validator ?? '',
      expectedBytes: event.expectedBytes ?? 0,
      statusCode: event.statusCode ?? 0,
    });
  }

  /**
   * A segmented download's progress: its plan, so that a later process resumes every segment
   * from its own offset. The first plan and one with another number of segments (a split, a
   * fallback to one request) at once; otherwise at most once per PLAN_JOURNAL_INTERVAL_MS, not at
   * every progress event (each is an append and, per tick, an fdatasync: bench/ANALYSIS.md). A
   * journaled plan older than the bytes on disk is still true (each segment's bytes up to its
   * journaled next are there): a kill fetches the later bytes again, at their own offsets.
   */
  segmentsProgressed(taskIdentifier: number, plan: string): void {
    const task = this.journal.tasks.get(taskIdentifier);
    if (task === undefined || task.kind !== 'download' || task.segmentPlan === plan) return;
    const now = performance.now();
    const last = this.#planJournaledAt.get(taskIdentifier);
    const reshaped = task.segmentPlan === undefined || segmentCount(task.segmentPlan) !== segmentCount(plan);
    if (!reshaped && last !== undefined && now - last < PLAN_JOURNAL_INTERVAL_MS) return;
    this.#planJournaledAt.set(taskIdentifier, now);
    this.journal.patchTask(taskIdentifier, { segmentPlan: plan });
  }

  completed(kind: JournaledTask['kind'], event: NativeEvent, location: string | undefined): void {
    const entry: JournaledCompletion = {
      taskIdentifier: event.taskIdentifier,
      kind,
      errorCode: event.errorCode ?? 0,
      message: event.message ?? '',
      statusCode: event.statusCode ?? 0,
    };
    if (location !== undefined) entry.location = location;
    if (kind !== 'download' && event.responseBody !== undefined) {
      // A body past this size is not kept in the journal (its base64 text would near the longest
      // JS string, and a throw would lose the completion). A
      // completion redelivered after a crash without its body says so instead of pretending it
      // was empty.
      if (event.responseBody.length <= JOURNALED_RESPONSE_LIMIT)
        entry.responseBase64 = event.responseBody.toString('base64');
      else entry.responseOmittedBytes = event.responseBody.length;
    }
    this.journal.complete(entry);
    this.#planJournaledAt.delete(event.taskIdentifier);
    const body = this.#bodies.get(event.taskIdentifier);
    this.#bodies.delete(event.taskIdentifier);
    if (body !== undefined) fs.rm(body, { force: true }, () => undefined);
  }

  delivered(taskIdentifier: number): void {
    this.journal.delivered(taskIdentifier);
  }

  /**
   * Engine requests for the tasks a dead process left unfinished. Downloads continue from their
   * partial file; a download whose file the engine had already moved into place is not fetched
   * again: its completion is journaled now and delivered with the other undelivered ones.
   * `expectedBytes`: the whole file's size as the dead process's response announced it (0: unknown).
   */
  recoverableRequests(): Array<{
    request: NativeTaskRequest;
    taskDescription: string;
    kind: JournaledTask['kind'];
    expectedBytes: number;
  }> {
    const committed = new CommittedDownloads();
    const recovered: Array<{
      request: NativeTaskRequest;
      taskDescription: string;
      kind: JournaledTask['kind'];
      expectedBytes: number;
    }> = [];
    for (const task of [...this.journal.tasks.values()]) {
      if (task.bodyInMemory === true) continue;
      if (
        task.kind === 'download' &&
        task.downloadDirectory !== undefined &&
        task.partialPath !== undefined &&
        task.partialIdentity
      ) {
        const location = committed.find(task.downloadDirectory, task.partialPath, task.partialIdentity);
        if (location !== undefined) {
          // The engine moves a file into place only for a response it accepted; its status is
          // journaled when the response arrives, unless the kill came even before that.
          this.journal.complete({
            taskIdentifier: task.taskIdentifier,
            kind: 'download',
            errorCode: 0,
            message: '',
            statusCode: task.statusCode ?? 200,
            location,
          });
          continue;
        }
      }
      recovered.push({
        request: this.#requestFor(task),
        taskDescription: task.taskDescription,
        kind: task.kind,
        expectedBytes: task.expectedBytes ?? 0,
      });
    }
    return recovered;
  }

  #requestFor(task: JournaledTask): NativeTaskRequest {
    const request: NativeTaskRequest = {
      taskIdentifier: task.taskIdentifier,
      kind: TASK_KIND_NAMES.indexOf(task.kind) as NativeTaskKind,
      url: task.url,
      method: task.method,
      headers: task.headers,
    };
    if (task.bodyPath !== undefined) request.bodyPath = task.bodyPath;
    if (task.kind !== 'download') return request;
    request.downloadDirectory = task.downloadDirectory;
    request.downloadFileName = task.downloadFileName ?? '';
    request.nameFromResponse = task.nameFromResponse;
    request.overwrite = task.overwrite;
    if (task.segments !== undefined) request.segments = task.segments;
    resumeOrRenewPartial(this.journal, task, request);
    return request;
  }

  /** Tasks a dead process left unfinished whose body died with it: they can only be reported failed. */
  lostTasks(): LostTask[] {
    return [...this.journal.tasks.values()]
      .filter((task) => task.bodyInMemory === true)
      .map(({ taskIdentifier, kind, url, taskDescription }) => ({ taskIdentifier, kind, url, taskDescription }));
  }

  /** Completions reported before the last process died but never delivered, as engine events. */
  undeliveredEvents(): Array<{ kind: JournaledTask['kind']; events: NativeEvent[] }> {
    return [...this.journal.undelivered.values()].map((c) => {
      const events: NativeEvent[] = [];
      if (c.location !== undefined) {
        events.push({
          type: EventType.DownloadCompleted,
          taskIdentifier: c.taskIdentifier,
          statusCode: c.statusCode,
          location: c.location,
        });
      }
      const omitted = c.responseOmittedBytes !== undefined && c.errorCode === 0;
      events.push({
        type: EventType.TaskCompleted,
        taskIdentifier: c.taskIdentifier,
        errorCode: omitted ? NSURLError.DataLengthExceedsMaximum : c.errorCode,
        message: omitted
          ? `the response (${c.responseOmittedBytes} bytes) arrived before the process ended but is too large to be kept for redelivery (over ${JOURNALED_RESPONSE_LIMIT} bytes)`
          : c.message,
        statusCode: c.statusCode,
        responseBody: c.responseBase64 === undefined ? undefined : Buffer.from(c.responseBase64, 'base64'),
      });
      return { kind: c.kind, events };
    });
  }

  /** reset(): forget every journaled task and remove the partial files of tasks not running. */
  reset(running: Set<number>): void {
    for (const task of this.journal.tasks.values()) {
      if (!running.has(task.taskIdentifier)) removeOwnPartial(task.partialPath, task.partialIdentity);
    }
    this.journal.clear();
  }

  /** The session ended: every task was delivered, nothing is left to resume. */
  close(): void {
    this.journal.close(true);
  }

  /** The session could not be created after all: give the folder up, keeping its journal as it is. */
  release(): void {
    this.journal.close(false);
  }
}
