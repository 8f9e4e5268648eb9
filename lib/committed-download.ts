// Finding a download the dead process had already finished on disk: the engine moved its
// partial file into place (rename, or link then unlink) and the process died before the journal
// recorded the completion. The moved file keeps the partial file's identity (device, inode,
// birth time), so the download folder is searched for it; a second copy is never fetched.
// Everything here is lstat/readdir: nothing is followed or opened. JS thread only (re-attach).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { identityOf, PARTIAL_FILE_NAME } from './partial-files';

export class CommittedDownloads {
  /** Per folder: identity -> name of every regular file in it (built once, when first needed). */
  readonly #folders = new Map<string, Map<string, string>>();

  /**
   * Where the journaled partial file `identity` (at `partialPath`, in `directory`) now is under
   * its final name, or undefined when it is still only a partial file (resume it) or gone (start
   * over). A partial name still linked to the final one (the kill fell between link and unlink)
   * is removed.
   */
  find(directory: string, partialPath: string, identity: string): string | undefined {
    const atPartial = lstat(partialPath);
    if (atPartial !== undefined) {
      // Another file at the partial name is not ours; one link: an unfinished partial file.
      if (!atPartial.isFile() || identityOf(atPartial) !== identity || atPartial.nlink === 1n) return undefined;
    }
    const name = this.#namesIn(directory).get(identity);
    if (name === undefined) return undefined;
    const location = path.join(directory, name);
    if (atPartial !== undefined) {
      try {
        fs.unlinkSync(partialPath);
      } catch {
        // a read-only folder: the hidden name stays, the file is complete under its own
      }
    }
    return location;
  }

  #namesIn(directory: string): Map<string, string> {
    let names = this.#folders.get(directory);
    if (names !== undefined) return names;
    names = new Map();
    this.#folders.set(directory, names);
    let entries: string[];
    try {
      entries = fs.readdirSync(directory);
    } catch {
      return names;
    }
    for (const entry of entries) {
      if (PARTIAL_FILE_NAME.test(entry)) continue;
      const st = lstat(path.join(directory, entry));
      if (st !== undefined && st.isFile()) names.set(identityOf(st), entry);
    }
    return names;
  }
}

function lstat(file: string): fs.BigIntStats | undefined {
  try {
    return fs.lstatSync(file, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
