// `urlsession tasks --session id` lists a persistent session's unfinished work without
// starting it; `urlsession resume --session id` re-attaches and finishes it.
import { parseArgs } from 'node:util';
import * as URLSession from '../index';
import { peekJournal } from '../journal';
import { defaultStateDirectory } from '../state-directory';
import { openSession, UsageError } from './common';
import { createReporter } from './reporter';
import { forwardTitaniumEvents } from './get';

function sessionFlag(argv: string[]): { session: string; json: boolean } {
  const { values } = parseArgs({ args: argv, options: { session: { type: 'string' }, json: { type: 'boolean' } } });
  if (values.session === undefined) throw new UsageError('--session <identifier> is required');
  return { session: values.session, json: values.json === true };
}

export function runTasks(argv: string[]): number {
  const { session, json } = sessionFlag(argv);
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
    process.stdout.write(`${String(task.taskIdentifier).padStart(4)}  ${task.kind.padEnd(8)}  ${task.url}${task.taskDescription ? `  (${task.taskDescription})` : ''}\n`);
  }
  return 0;
}

export async function runResume(argv: string[]): Promise<number> {
  const { session: identifier, json } = sessionFlag(argv);
  const reporter = createReporter(json);
  const session = openSession(identifier);
  forwardTitaniumEvents(session, reporter);
  const tasks = await session.getAllTasks();
  if (tasks.length === 0) {
    reporter.note(`session ${identifier}: nothing to resume`);
    session.finishTasksAndInvalidate();
    return 0;
  }
  const views = new Map(tasks.map((task) => [task.taskIdentifier, reporter.add(task.url)]));
  let failures = 0;
  session.on('downloadprogress', (e) => views.get(e.taskIdentifier)?.update(e.totalBytesWritten, e.totalBytesExpectedToWrite, e.bytesWritten));
  session.on('uploadprogress', (e) => views.get(e.taskIdentifier)?.update(e.totalBytesSent, e.totalBytesExpectedToSend, e.bytesSent));
  await new Promise<void>((resolve) => {
    session.on('sessioncompleted', (e: URLSession.SessionCompletedEvent) => {
      views.get(e.taskIdentifier)?.done(e.success);
      if (!e.success) {
        failures++;
        reporter.note(`urlsession: task ${e.taskIdentifier}: error ${e.errorCode}: ${e.message}`);
      }
    });
    session.on('sessioneventscompleted', () => resolve());
  });
  reporter.stop();
  session.finishTasksAndInvalidate();
  return failures === 0 ? 0 : 1;
}
