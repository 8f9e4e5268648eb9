// `urlsession get <url…>`: parallel downloads with one progress bar each.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as URLSession from '../index';
import { describeFailure, onInterrupt, openSession, parseHeaders, UsageError } from './common';
import { createReporter, type TransferView } from './reporter';
import { userCacheRoot } from '../user-folders';
import { ensurePrivateDirectory } from '../private-directory';
import { readStateFile, writeReplacing } from '../state-directory';

export async function runGet(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      header: { type: 'string', short: 'H', multiple: true },
      resume: { type: 'boolean' },
      integrity: { type: 'string' },
      session: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length === 0) throw new UsageError('get needs at least one URL');
  const headers = parseHeaders(values.header);
  // Several URLs always go into a folder; one URL may name its file.
  const output = values.output ?? `.${path.sep}`;
  const destination = positionals.length > 1 && !output.endsWith(path.sep) ? output + path.sep : output;
  const reporter = createReporter(values.json === true);
  const session = openSession(values.session);
  forwardTitaniumEvents(session, reporter);
  // Titanium's downloadprogress: bytesWritten counts only what arrived, never a resume's kept bytes.
  const views = new Map<number, TransferView>();
  session.on('downloadprogress', (e) => views.get(e.taskIdentifier)?.update(e.totalBytesWritten, e.totalBytesExpectedToWrite, e.bytesWritten));

  const tasks = positionals.map((url) => {
    const resumeFile = values.resume ? resumeFileFor(url, destination) : undefined;
    // Read as state files are: a link or a FIFO planted at the name is never followed or waited on.
    const resumeData = resumeFile === undefined ? undefined : readStateFile(resumeFile).bytes;
    let task: URLSession.Task<URLSession.DownloadResult> | undefined;
    if (resumeData !== undefined) {
      try {
        task = session.download({ resumeData, headers, integrity: values.integrity, retry: 2 });
        reporter.note(`resuming ${url}`);
      } catch (error) {
        // Resume data of another user or release, or whose partial file is no longer ours.
        if ((error as { code?: string }).code !== URLSession.ErrorCodes.INVALID_RESUME_DATA) throw error;
        reporter.note(`cannot resume ${url} (${(error as Error).message}); starting over`);
      }
    }
    task ??= session.download(url, { destination, headers, integrity: values.integrity, retry: 2 });
    const view = reporter.add(path.basename(new URL(url).pathname) || url);
    views.set(task.taskIdentifier, view);
    return { url, task, view, resumeFile };
  });

  let interrupted = false;
  const release = onInterrupt(() => {
    interrupted = true;
    if (values.session !== undefined) {
      // A persistent session keeps its work: its journal and partial files resume it later.
      reporter.stop();
      process.stderr.write(`interrupted: unfinished downloads are kept; run \`urlsession resume --session ${values.session}\`\n`);
      process.exit(130);
    }
    for (const { task, resumeFile } of tasks) {
      if (resumeFile === undefined) {
        task.cancel();
      } else {
        // A new file renamed into place (O_EXCL|O_NOFOLLOW temp): nothing planted at the name is written through.
        void task.cancelByProducingResumeData().then((data) => data !== null && writeReplacing(resumeFile, [data]));
      }
    }
  });

  let failures = 0;
  for (const { url, task, view, resumeFile } of tasks) {
    try {
      const result = await task.done;
      view.done(true);
      if (resumeFile !== undefined) fs.rmSync(resumeFile, { force: true });
      reporter.note(`${url} -> ${result.location} (${view.summary()})`);
    } catch (error) {
      view.done(false);
      failures++;
      if (!interrupted) reporter.note(`urlsession: ${describeFailure(url, error)}`);
    }
  }
  release();
  reporter.stop();
  session.finishTasksAndInvalidate();
  if (interrupted) {
    process.stderr.write(values.resume ? 'interrupted: partial downloads kept; run the same command with --resume to continue\n' : 'interrupted: nothing was left at the destination\n');
    return 130;
  }
  return failures === 0 ? 0 : 1;
}

/** Where --resume keeps the resume data of one URL and destination between runs. */
function resumeFileFor(url: string, destination: string): string {
  const key = createHash('sha256').update(`${url}\n${path.resolve(destination)}`).digest('hex').slice(0, 24);
  const dir = path.join(userCacheRoot(), 'cli-resume');
  ensurePrivateDirectory(dir, URLSession.ErrorCodes.STATE_DIRECTORY);
  return path.join(dir, `${key}.resume`);
}

/** The JSON stream carries the Titanium events with their own field names (no Blob). */
export function forwardTitaniumEvents(session: URLSession.Session, reporter: ReturnType<typeof createReporter>): void {
  for (const name of ['downloadprogress', 'uploadprogress', 'sessioncompleted', 'sessioneventscompleted'] as const) {
    session.on(name, (event: object) => reporter.event(name, event));
  }
  session.on('downloadcompleted', ({ data: _data, ...fields }) => reporter.event('downloadcompleted', fields));
}
