// Where `urlsession get` saves each URL, and what to say when the file was saved under another
// name. -o names a file or a folder; -O names the file after the URL as curl -O does; -J (and a
// folder without -O) lets the library name it: Content-Disposition, else the URL it came from.
// Runs on the main thread, before the transfers start and as each one completes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveDestination } from '../task-options';
import { UsageError } from './errors';

export interface NamingFlags {
  output?: string;
  remoteName: boolean;
  remoteHeaderName: boolean;
}

export interface Placement {
  /** For session.download(): a file path, or a folder ending with a separator. */
  destination: string;
  /** The file name asked for; undefined when the library picks it from the response. */
  name?: string;
}

/** Whether the library takes `destination` as a folder (it ends with a separator or is one). */
function isFolder(destination: string): boolean {
  return resolveDestination(destination, '', false).nameFromResponse;
}

/** curl -O's name: the last segment of the URL's path as it is written there (no decoding). */
function remoteName(url: string): string {
  const name = path.posix.basename(new URL(url).pathname);
  if (name === '') throw new UsageError(`-O: ${url} has no file name in its path; use -o <file> or -J`, 'get');
  return name;
}

/** One placement per URL (already validated). */
export function placements(urls: readonly string[], flags: NamingFlags): Placement[] {
  if (flags.remoteName || flags.remoteHeaderName) {
    // The files are named by the URL or the server; -o can only say in which folder.
    const output = flags.output ?? `.${path.sep}`;
    if (!isFolder(output))
      throw new UsageError(
        `-O and -J name the files themselves: -o must name a folder (end it with ${path.sep})`,
        'get',
      );
    const folder = output.endsWith(path.sep) ? output : output + path.sep;
    // -OJ is curl's "the server's name, else the URL's": the library's folder rule.
    if (flags.remoteHeaderName) return urls.map(() => ({ destination: folder }));
    return urls.map((url) => {
      const name = remoteName(url);
      return { destination: path.join(folder, name), name };
    });
  }
  const output = flags.output ?? `.${path.sep}`;
  // Several URLs always go into a folder; one URL may name its file.
  const destination = urls.length > 1 && !output.endsWith(path.sep) ? output + path.sep : output;
  return urls.map(() => (isFolder(destination) ? { destination } : { destination, name: path.basename(destination) }));
}

/**
 * "a.bin exists: saved as a-1.bin" when an existing file made the library number the name (it
 * never replaces one). A name the server or the URL chose is not known here: a numbered name
 * whose unnumbered form is a file beside it counts as renamed.
 */
export function renamedNote(location: string, placement: Placement): string | undefined {
  const saved = path.basename(location);
  let wanted = placement.name;
  if (wanted === undefined) {
    // The library's numbering: "report.pdf" -> "report-1.pdf", ".env" -> ".env-1", "notes" -> "notes-1".
    const numbered = /^(.+)-\d+(\.[^.]*)?$/.exec(saved);
    if (numbered === null) return undefined;
    wanted = numbered[1] + (numbered[2] ?? '');
    if (fs.lstatSync(path.join(path.dirname(location), wanted), { throwIfNoEntry: false }) === undefined)
      return undefined;
  }
  return saved === wanted ? undefined : `${wanted} exists: saved as ${saved}`;
}
