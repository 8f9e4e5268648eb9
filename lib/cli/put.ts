// `urlsession put <url> <file>`: an upload with a progress bar; prints the response status.
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import * as URLSession from '../index';
import { describeFailure, onInterrupt, openSession, parseHeaders, UsageError } from './common';
import { createReporter } from './reporter';
import { forwardTitaniumEvents } from './get';

export async function runPut(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      request: { type: 'string', short: 'X', default: 'PUT' },
      header: { type: 'string', short: 'H', multiple: true },
      verbose: { type: 'boolean', short: 'v' },
      session: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const [url, file] = positionals;
  if (url === undefined || file === undefined || positionals.length > 2) throw new UsageError('put needs <url> <file>');
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) throw new UsageError(`not a file: ${file}`);
  const reporter = createReporter(values.json === true);
  const session = openSession(values.session);
  forwardTitaniumEvents(session, reporter);
  const task = session.upload(url, file, { method: values.request, headers: parseHeaders(values.header), throwHttpErrors: false });
  const view = reporter.add(file);
  session.on('uploadprogress', (e) => e.taskIdentifier === task.taskIdentifier && view.update(e.totalBytesSent, e.totalBytesExpectedToSend, e.bytesSent));
  const release = onInterrupt(() => task.cancel());
  try {
    const result = await task.done;
    view.done(result.statusCode < 400);
    reporter.stop();
    process.stderr.write(`HTTP ${result.statusCode}\n`);
    if (values.verbose) process.stdout.write(result.body);
    return result.statusCode < 400 ? 0 : 1;
  } catch (error) {
    view.done(false);
    reporter.stop();
    process.stderr.write(`urlsession: ${describeFailure(url, error)}\n`);
    return error instanceof URLSession.AbortError ? 130 : 1;
  } finally {
    release();
    session.finishTasksAndInvalidate();
  }
}
