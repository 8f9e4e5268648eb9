// `urlsession put <url> <file>`: an upload with a progress bar; prints the response status.
// Runs on the main thread.
import * as fs from 'node:fs';
import { describeFailure, isInterruption, onInterrupt, openSession, parseCommand, parseHeaders } from './common';
import { UsageError } from './errors';
import { createReporter } from './reporter';
import { forwardTitaniumEvents } from './get';
import { validateUrl } from '../validate';

export async function runPut(argv: string[]): Promise<number> {
  const parsed = parseCommand('put', argv, {
    request: { type: 'string', short: 'X', default: 'PUT' },
    header: { type: 'string', short: 'H', multiple: true },
    verbose: { type: 'boolean', short: 'v' },
    session: { type: 'string' },
    cacert: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const [url, file] = positionals;
  if (url === undefined || file === undefined || positionals.length > 2)
    throw new UsageError('put needs <url> <file>', 'put');
  validateUrl(url);
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) throw new UsageError(`not a file: ${file}`, 'put');
  const headers = parseHeaders(values.header, 'put');
  const session = openSession(values.session, values.cacert);
  const reporter = createReporter(values.json === true);
  forwardTitaniumEvents(session, reporter);
  const task = session.upload(url, file, { method: values.request, headers, throwHttpErrors: false });
  const view = reporter.add(file);
  session.on(
    'uploadprogress',
    (e) =>
      e.taskIdentifier === task.taskIdentifier &&
      view.update(e.totalBytesSent, e.totalBytesExpectedToSend, e.bytesSent, e),
  );
  const release = onInterrupt(() => task.cancel());
  try {
    const result = await task.done;
    view.done(result.statusCode < 400 ? 'ok' : 'failed');
    reporter.stop();
    process.stderr.write(`HTTP ${result.statusCode}\n`);
    if (values.verbose) process.stdout.write(result.body);
    return result.statusCode < 400 ? 0 : 1;
  } catch (error) {
    view.done(isInterruption(error) ? 'interrupted' : 'failed');
    reporter.stop();
    process.stderr.write(`urlsession: ${describeFailure(url, error)}\n`);
    return isInterruption(error) ? 130 : 1;
  } finally {
    release();
    session.finishTasksAndInvalidate();
  }
}
