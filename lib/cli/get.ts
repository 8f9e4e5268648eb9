// `urlsession get <url…>`: parallel downloads with one progress bar each, and for each file a
// line saying where it was saved (or why it was not). Runs on the main thread.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as URLSession from '../index';
import { describeFailure, isInterruption, onInterrupt, openSession, parseCommand, parseHeaders } from './common';
import { UsageError } from './errors';
import { distinctLabels } from './labels';
import { placements, renamedNote } from './naming';
import { createReporter, type Reporter, type TransferView } from './reporter';
import { userCacheRoot } from '../user-folders';
import { ensurePrivateDirectory } from '../private-directory';
import { readStateFile, writeReplacing } from '../state-directory';
import { redactUrl, validateUrl } from '../validate';

export async function runGet(argv: string[]): Promise<number> {
  const parsed = parseCommand('get', argv, {
    output: { type: 'string', short: 'o' },
    'remote-name': { type: 'boolean', short: 'O' },
    'remote-header-name': { type: 'boolean', short: 'J' },
    header: { type: 'string', short: 'H', multiple: true },
    resume: { type: 'boolean' },
    integrity: { type: 'string' },
    session: { type: 'string' },
    cacert: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length === 0) throw new UsageError('get needs at least one URL', 'get');
  const urls = positionals.map((url) => validateUrl(url));
  const headers = parseHeaders(values.header, 'get');
  const places = placements(urls, {
    output: values.output,
    remoteName: values['remote-name'] === true,
    remoteHeaderName: values['remote-header-name'] === true,
  });
  const labels = distinctLabels(urls);
  const session = openSession(values.session, values.cacert);
  const reporter = createReporter(values.json === true);
  forwardTitaniumEvents(session, reporter);
  // Titanium's downloadprogress: bytesWritten counts only what arrived, never a resume's kept bytes.
  const views = new Map<number, TransferView>();
  session.on('downloadprogress', (e) =>
    views.get(e.taskIdentifier)?.update(e.totalBytesWritten, e.totalBytesExpectedToWrite, e.bytesWritten, e),
  );

  const tasks = urls.map((url, index) => {
    const { destination } = places[index];
    const resumeFile = values.resume ? resumeFileFor(url, destination) : undefined;
    // Read as state files are: a link or a FIFO planted at the name is never followed or waited on.
    const resumeData = resumeFile === undefined ? undefined : readStateFile(resumeFile).bytes;
    let task: URLSession.Task<URLSession.DownloadResult> | undefined;
    if (resumeData !== undefined) {
      try {
        task = session.download({ resumeData, headers, integrity: values.integrity, retry: 2 });
        reporter.note(`resuming ${redactUrl(url)}`);
      } catch (error) {
        // Resume data of another user or release, or whose partial file is no longer ours.
        if ((error as { code?: string }).code !== URLSession.ErrorCodes.INVALID_RESUME_DATA) throw error;
        reporter.note(`cannot resume ${redactUrl(url)} (${(error as Error).message}); starting over`);
      }
    }
    task ??= session.download(url, { destination, headers, integrity: values.integrity, retry: 2 });
    const view = reporter.add(labels[index]);
    views.set(task.taskIdentifier, view);
    return { url, task, view, resumeFile, placement: places[index] };
  });

  let interrupted = false;
  const release = onInterrupt(() => {
    interrupted = true;
    if (values.session !== undefined) {
      // A persistent session keeps its work: its journal and partial files resume it later.
      for (const { view } of tasks) view.done('interrupted');
      reporter.stop();
      process.stderr.write(
        `interrupted: unfinished downloads are kept; run \`urlsession resume --session ${values.session}\`\n`,
      );
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
  // Each outcome is reported as its task ends, not in the order the URLs were given.
  await Promise.all(
    tasks.map(async ({ url, task, view, resumeFile, placement }) => {
      try {
        const result = await task.done;
        view.done('ok');
        if (resumeFile !== undefined) fs.rmSync(resumeFile, { force: true });
        const renamed = renamedNote(result.location, placement);
        if (renamed !== undefined) reporter.note(renamed);
        reporter.note(`${redactUrl(url)} -> ${result.location} (${view.summary()})`);
      } catch (error) {
        const stopped = interrupted || isInterruption(error);
        view.done(stopped ? 'interrupted' : 'failed');
        failures++;
        if (!stopped) reporter.note(`urlsession: ${describeFailure(url, error)}`);
      }
    }),
  );
  release();
  reporter.stop();
  session.finishTasksAndInvalidate();
  if (interrupted) {
    process.stderr.write(
      values.resume
        ? 'interrupted: partial downloads kept; run the same command with --resume to continue\n'
        : 'interrupted: nothing was left at the destination\n',
    );
    return 130;
  }
  return failures === 0 ? 0 : 1;
}

/** Where --resume keeps the resume data of one URL and destination between runs. */
function resumeFileFor(url: string, destination: string): string {
  const key = createHash('sha256')
    .update(`${url}\n${path.resolve(destination)}`)
    .digest('hex')
    .slice(0, 24);
  const dir = path.join(userCacheRoot(), 'cli-resume');
  ensurePrivateDirectory(dir, URLSession.ErrorCodes.STATE_DIRECTORY);
  return path.join(dir, `${key}.resume`);
}

/** The JSON stream carries the Titanium events with their own field names (no Blob). */
export function forwardTitaniumEvents(session: URLSession.Session, reporter: Reporter): void {
  for (const name of ['downloadprogress', 'uploadprogress', 'sessioncompleted', 'sessioneventscompleted'] as const) {
    session.on(name, (event: object) => reporter.event(name, event));
  }
  session.on('downloadcompleted', ({ data: _data, ...fields }) => reporter.event('downloadcompleted', fields));
}
