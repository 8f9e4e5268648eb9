// What a persistent session's journal says, and how it is said on disk: the task and completion
// types, the records of the append-only log (one JSON object per line) and the replay that turns
// a log back into the state. Pure functions, no I/O: lib/journal.ts writes and reads the file.
// JS thread only.
import { TASK_KIND_NAMES, type TaskKindName } from './task-table';

/** The first line of every log: its format. */
export const LOG_HEADER = { journal: 2 } as const;

export interface JournaledTask {
  taskIdentifier: number;
  kind: TaskKindName;
  url: string;
  method: string;
  /** Flat [name, value, ...]. */
  headers: string[];
  taskDescription: string;
  /** Uploads and data tasks: the body, as a file path or base64 bytes. */
  bodyPath?: string;
  bodyBase64?: string;
  /**
   * The in-memory body could not be stored in the state folder (it was full): it lived only in
   * the memory of the process that started the task, so a later process reports the task failed.
   */
  bodyInMemory?: boolean;
  /** Downloads. */
  downloadDirectory?: string;
  downloadFileName?: string;
  nameFromResponse?: boolean;
  overwrite?: boolean;
  partialPath?: string;
  /** The identity ("device:inode:birthNs") of partialPath (lib/partial-files.ts): re-attach uses only that very file. */
  partialIdentity?: string;
  validator?: string;
  expectedBytes?: number;
  /** The response's status code, once it arrived (a completion found after a crash reports it). */
  statusCode?: number;
  /** Segmented downloads: how many Range requests the task asked for (the `segments` option). */
  segments?: number;
  /**
   * ... and the last plan the engine reported (native/core/segment_plan.h "start-next-end,...":
   * [start, next) of each segment is in the partial file), to resume each segment from its offset.
   */
  segmentPlan?: string;
}

/** A completion the engine reported but JS listeners have not received yet (at-least-once). */
export interface JournaledCompletion {
  taskIdentifier: number;
  kind: JournaledTask['kind'];
  errorCode: number;
  message: string;
  statusCode: number;
  location?: string;
  responseBase64?: string;
  /** A body over persistence.ts's JOURNALED_RESPONSE_LIMIT is not kept: its length instead. */
  responseOmittedBytes?: number;
}

export interface JournalState {
  nextTaskIdentifier: number;
  tasks: JournaledTask[];
  undelivered: JournaledCompletion[];
}

/** The fields a download learns after it started (the response, a new partial file). */
export type TaskPatch = Partial<
  Pick<JournaledTask, 'validator' | 'expectedBytes' | 'statusCode' | 'partialPath' | 'partialIdentity' | 'segmentPlan'>
>;

/**
 * One line of the log. Each says one change; replaying them in order gives the state:
 * - `next`: identifiers below it may have been given out (a task whose start waits for its body);
 * - `task`: a task started (or was restated whole); its identifier is taken;
 * - `patch`: fields of a running task changed;
 * - `done`: a task ended: it leaves the tasks and waits for delivery;
 * - `delivered`: every listener received that completion;
 * - `remove`: a task that never started after all.
 */
export type LogRecord =
  | { next: number }
  | { task: JournaledTask }
  | { patch: number; fields: TaskPatch }
  | { done: JournaledCompletion }
  | { delivered: number }
  | { remove: number };

/** The state in memory: maps keep lookups constant at any number of tasks. */
export interface LiveState {
  nextTaskIdentifier: number;
  tasks: Map<number, JournaledTask>;
  undelivered: Map<number, JournaledCompletion>;
}

export function emptyState(nextTaskIdentifier = 1): LiveState {
  return { nextTaskIdentifier, tasks: new Map(), undelivered: new Map() };
}

export function encodeRecord(record: LogRecord | typeof LOG_HEADER): Buffer {
  return Buffer.from(`${JSON.stringify(record)}\n`);
}

/** Applies one record; false when it is not a record this format knows. */
export function applyRecord(state: LiveState, record: unknown): boolean {
  if (typeof record !== 'object' || record === null) return false;
  const r = record as Record<string, unknown>;
  if (isIdentifier(r.next)) {
    state.nextTaskIdentifier = Math.max(state.nextTaskIdentifier, r.next);
  } else if (isTask(r.task)) {
    state.tasks.set(r.task.taskIdentifier, r.task);
    state.nextTaskIdentifier = Math.max(state.nextTaskIdentifier, r.task.taskIdentifier + 1);
  } else if (isIdentifier(r.patch) && typeof r.fields === 'object' && r.fields !== null) {
    const task = state.tasks.get(r.patch);
    if (task !== undefined) state.tasks.set(r.patch, { ...task, ...(r.fields as TaskPatch) });
  } else if (isCompletion(r.done)) {
    state.tasks.delete(r.done.taskIdentifier);
    state.undelivered.set(r.done.taskIdentifier, r.done);
    state.nextTaskIdentifier = Math.max(state.nextTaskIdentifier, r.done.taskIdentifier + 1);
  } else if (isIdentifier(r.delivered)) {
    state.undelivered.delete(r.delivered);
  } else if (isIdentifier(r.remove)) {
    state.tasks.delete(r.remove);
  } else {
    return false;
  }
  return true;
}

export interface Replayed {
  state: LiveState;
  /** The last line had no newline: a write the dead process never finished. Its bytes are not used. */
  tornTail: boolean;
  /** Complete lines that did not parse or say nothing known (damage): skipped. */
  damaged: number;
  /** The length of the log up to the end of its last complete line. */
  goodLength: number;
}

/**
 * Replays a log. Throws when the first line is not the header (not a journal of this format).
 * Lines are decoded one at a time from the bytes: the whole log may be longer than a JS string.
 */
export function replayLog(bytes: Buffer): Replayed {
  const state = emptyState();
  let damaged = 0;
  let start = 0;
  let first = true;
  while (start < bytes.length) {
    const end = bytes.indexOf(0x0a, start);
    if (end < 0) break;
    const line = bytes.toString('utf8', start, end);
    start = end + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    if (first) {
      if ((parsed as { journal?: unknown } | undefined)?.journal !== LOG_HEADER.journal)
        throw new Error('unknown journal format');
      first = false;
      continue;
    }
    if (!applyRecord(state, parsed)) damaged++;
  }
  if (first) throw new Error('no journal header');
  return { state, tornTail: start < bytes.length, damaged, goodLength: start };
}

/** The records that restate `state` whole: the content of a compacted log. */
export function* snapshotRecords(state: LiveState): Generator<Buffer> {
  yield encodeRecord(LOG_HEADER);
  yield encodeRecord({ next: state.nextTaskIdentifier });
  for (const task of state.tasks.values()) yield encodeRecord({ task });
  for (const done of state.undelivered.values()) yield encodeRecord({ done });
}

/** journal.json, the whole-document format before the log (version 1): read once, then replaced. */
export function parseLegacyJournal(text: string): LiveState {
  const parsed = JSON.parse(text) as Partial<JournalState> & { version?: number };
  if (
    parsed.version !== 1 ||
    !Array.isArray(parsed.tasks) ||
    !Array.isArray(parsed.undelivered) ||
    !isIdentifier(parsed.nextTaskIdentifier)
  ) {
    throw new Error('unknown journal format');
  }
  const state = emptyState(parsed.nextTaskIdentifier);
  for (const task of parsed.tasks) {
    if (!isTask(task)) throw new Error('damaged task entry');
    applyRecord(state, { task });
  }
  for (const done of parsed.undelivered) if (isCompletion(done)) applyRecord(state, { done });
  return state;
}

export function toPlainState(state: LiveState): JournalState {
  return {
    nextTaskIdentifier: state.nextTaskIdentifier,
    tasks: [...state.tasks.values()],
    undelivered: [...state.undelivered.values()],
  };
}

function isIdentifier(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isTask(value: unknown): value is JournaledTask {
  const t = value as JournaledTask | undefined;
  return (
    typeof t === 'object' &&
    t !== null &&
    isIdentifier(t.taskIdentifier) &&
    typeof t.url === 'string' &&
    (TASK_KIND_NAMES as readonly string[]).includes(t.kind) &&
    typeof t.method === 'string' &&
    Array.isArray(t.headers)
  );
}

function isCompletion(value: unknown): value is JournaledCompletion {
  const c = value as JournaledCompletion | undefined;
  return (
    typeof c === 'object' &&
    c !== null &&
    isIdentifier(c.taskIdentifier) &&
    typeof c.errorCode === 'number' &&
    (TASK_KIND_NAMES as readonly string[]).includes(c.kind)
  );
}
