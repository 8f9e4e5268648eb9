// Task identifiers of a session whose transfers the OS keeps (macOS background sessions, which
// keep no journal of ours): numbered past every identifier any earlier process of this session
// gave out, so a new task never takes the identifier of a recovered one that the OS reports
// later (TaskRecovered arrives after createSession returns). A file in stateDirectory holds the
// next identifier, written crash-safely before an identifier is used: a relaunch continues the
// numbering exactly, as the journal does for emulated sessions. The file is read and written as
// the journal is (lib/state-directory.ts): nothing planted at its name or at a temp name is
// followed, written through or waited on. JS thread only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readStateFile, writeReplacing } from './state-directory';

const FILE = 'next-task-identifier';

export class TaskCounter {
  readonly #file: string;
  #stored: number;
  /** The first identifier this process may give out. */
  readonly first: number;

  constructor(stateDirectory: string) {
    fs.mkdirSync(stateDirectory, { recursive: true, mode: 0o700 });
    this.#file = path.join(stateDirectory, FILE);
    let stored: number | undefined;
    const read = readStateFile(this.#file);
    if (read.bytes === undefined && read.unusable === undefined) {
      stored = 1;
    } else if (read.bytes !== undefined) {
      const text = read.bytes.toString('utf8').trim();
      if (/^[1-9]\d{0,14}$/.test(text)) stored = Number(text);
    }
    // Damaged: nothing says how far earlier processes counted; the clock is past any of them
    // (they count from 1, one per task) and stays below 2^53.
    this.first = stored ?? Date.now();
    this.#stored = stored ?? 0;
  }

  /** Records that identifiers below `next` are (about to be) taken; persists before it is used. */
  taken(next: number): void {
    if (next <= this.#stored) return;
    writeReplacing(this.#file, [Buffer.from(`${next}\n`)]);
    this.#stored = next;
  }
}
