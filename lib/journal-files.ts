// A session's journal files on disk, read without writing: the log (journal.log), the legacy
// journal.json it replaced, what to do with an unusable one (set it aside, unread when it is
// not a regular file), the temp files a dead writer left, and a look at a journal without
// opening its session (the CLI). JS thread only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  emptyState,
  parseLegacyJournal,
  replayLog,
  toPlainState,
  type JournalState,
  type LiveState,
} from './journal-records';
import { readStateFile } from './state-directory';

export const LOG_FILE = 'journal.log';
/** The whole-document journal of earlier versions: migrated into the log at open. */
export const LEGACY_FILE = 'journal.json';
/** Temp files of writeReplacing (journal.log.<16 hex>.tmp; journal.json.<16 hex>.tmp before). */
const TEMP_NAME = /^journal\.(log|json)\.[0-9a-f]{16}\.tmp$/;

/** An unusable journal moved aside at open: where to, and why ('was damaged', 'was a FIFO', ...). */
export interface SetAside {
  path: string;
  reason: string;
}

export interface ReadJournal {
  state: LiveState;
  setAside?: SetAside;
  /** The log must be restated whole before appending (migrated, torn tail, damaged records). */
  rewrite: boolean;
  /** Otherwise: the log's good length, appended to as it is. */
  append?: number;
}

// The log, else the legacy journal.json, else nothing. An unusable file is moved aside, unread
// when it is not a regular file, and kept for inspection: it never keeps the session from opening.
export function readJournal(directory: string): ReadJournal {
  const log = path.join(directory, LOG_FILE);
  const read = readStateFile(log);
  if (read.bytes !== undefined) {
    try {
      const replayed = replayLog(read.bytes);
      const rewrite = replayed.tornTail || replayed.damaged > 0;
      return { state: replayed.state, rewrite, append: replayed.goodLength };
    } catch {
      read.unusable = 'was damaged';
    }
  }
  if (read.unusable !== undefined)
    return { state: emptyState(), setAside: setAside(log, read.unusable), rewrite: false };
  const legacy = path.join(directory, LEGACY_FILE);
  const old = readStateFile(legacy);
  if (old.bytes !== undefined) {
    try {
      return { state: parseLegacyJournal(old.bytes.toString('utf8')), rewrite: true };
    } catch {
      old.unusable = 'was damaged';
    }
  }
  if (old.unusable !== undefined)
    return { state: emptyState(), setAside: setAside(legacy, old.unusable), rewrite: false };
  return { state: emptyState(), rewrite: false };
}

function setAside(file: string, reason: string): SetAside {
  const aside = { path: `${file}.corrupt-${Date.now()}`, reason };
  fs.renameSync(file, aside.path);
  return aside;
}

// Temp files of writes a dead process never renamed. Only called with the lock held, so no
// other session is writing one right now. Best effort: tidying up never keeps the session from
// opening.
export function removeLeftoverTemps(directory: string): void {
  try {
    for (const name of fs.readdirSync(directory)) {
      if (TEMP_NAME.test(name)) fs.rmSync(path.join(directory, name), { force: true });
    }
  } catch {
    // left for the next open
  }
}

/** Reads a session's journal without opening the session (no lock, nothing resumed, nothing moved). */
export function peekJournal(directory: string): JournalState | undefined {
  try {
    const read = readStateFile(path.join(directory, LOG_FILE));
    if (read.bytes !== undefined) return toPlainState(replayLog(read.bytes).state);
    const legacy = readStateFile(path.join(directory, LEGACY_FILE));
    return legacy.bytes === undefined ? undefined : toPlainState(parseLegacyJournal(legacy.bytes.toString('utf8')));
  } catch {
    return undefined;
  }
}
