// `urlsession tasks --session id` lists a persistent session's unfinished work without
// starting it; `urlsession resume --session id` re-attaches and finishes it. Main thread.
import * as URLSession from '../index';
import { peekJournal } from '../journal';
import { defaultStateDirectory } from '../state-directory';
import { describeCode, openSession, parseCommand } from './common';
import { distinctLabels } from './labels';
import { redactUrl } from '../validate';
import { UsageError } from './errors';
import { createReporter } from './reporter';
import { forwardTitaniumEvents } from './get';

export function runTasks(argv: string[]): number {
  const parsed = parseCommand('tasks', argv, { session: { type: 'string' }, json: { type: 'boolean' } });
  if (parsed === undefined) return 0;
  if (parsed.positionals.length > 0) throw new UsageError('tasks takes no URL', 'tasks');
  const { session, json } = parsed.values;
  if (session === undefined) throw new UsageError('--session <identifier> is required', 'tasks');
  const journal = peekJournal(defaultStateDirectory(session));
  const tasks = journal?.tasks ?? [];
  if (json) {
    process.stdout.write(`${JSON.stringify({ session, tasks, undelivered: journal?.undelivered.length ?? 0 })}\n`);
    return 0;
  }
  if (tasks.length === 0) {
    process.stdout.write(`session ${session}: no unfinished tasks\n`);
    return 0;
  }
  for (const task of tasks) {
    process.stdout.write(
      `${String(task.taskIdentifier).padStart(4)}  ${task.kind.padEnd(8)}  ${task.url}${task.taskDescription ? `  (${task.taskDescription})` : ''}\n`,
    );
  }
  return 0;
}

export async function runResume(argv: string[]): Promise<number> {
  const parsed = parseCommand('resume', argv, {
    session: { type: 'string' },
    cacert: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  if (parsed === undefined) return 0;
  if (parsed.positionals.length > 0) throw new UsageError('resume takes no URL', 'resume');
  const { session: identifier, cacert, json } = parsed.values;
  if (identifier === undefined) throw new UsageError('--session <identifier> is required', 'resume');
  const session = openSession(identifier, cacert);
  const reporter = createReporter(json === true);
  forwardTitaniumEvents(session, reporter);
  const tasks = await session.getAllTasks();
  if (tasks.length === 0) {
    reporter.note(`session ${identifier}: nothing to resume`);
    session.finishTasksAndInvalidate();
    return 0;
  }
  const urls = new Map(tasks.map((task) => [task.taskIdentifier, task.url]));
  const labels = distinctLabels(tasks.map((task) => task.url));
  const views = new Map(tasks.map((task, index) => [task.taskIdentifier, reporter.add(labels[index])]));
  let failures = 0;
  session.on('downloadprogress', (e) =>
    views.get(e.taskIdentifier)?.update(e.totalBytesWritten, e.totalBytesExpectedToWrite, e.bytesWritten, e),
  );
  session.on('uploadprogress', (e) =>
    views.get(e.taskIdentifier)?.update(e.totalBytesSent, e.totalBytesExpectedToSend, e.bytesSent, e),
  );
  await new Promise<void>((resolve) => {
    session.on('downloadcompleted', (e) =>
      reporter.note(`${redactUrl(urls.get(e.taskIdentifier) ?? '')} -> ${e.location}`),
    );
    session.on('sessioncompleted', (e: URLSession.SessionCompletedEvent) => {
      const cancelled = e.errorCode === URLSession.NSURLError.Cancelled;
      views.get(e.taskIdentifier)?.done(e.success ? 'ok' : cancelled ? 'interrupted' : 'failed');
      if (!e.success) {
        failures++;
        reporter.note(
          `urlsession: ${describeCode(urls.get(e.taskIdentifier) ?? `task ${e.taskIdentifier}`, e.message, e.errorCode)}`,
        );
      }
    });
    session.on('sessioneventscompleted', () => resolve());
  });
  reporter.stop();
  session.finishTasksAndInvalidate();
  return failures === 0 ? 0 : 1;
}
