// `urlsession request <url>`: the body to stdout, streamed with backpressure, like curl.
// Runs on the main thread.
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { openFileBlob } from '../file-blob';
import { describeFailure, isInterruption, onInterrupt, openSession, parseCommand, parseHeaders } from './common';
import { UsageError } from './errors';

export async function runRequest(argv: string[]): Promise<number> {
  const parsed = parseCommand('request', argv, {
    request: { type: 'string', short: 'X' },
    data: { type: 'string', short: 'd' },
    header: { type: 'string', short: 'H', multiple: true },
    include: { type: 'boolean', short: 'i' },
    fail: { type: 'boolean', short: 'f' },
    session: { type: 'string' },
    cacert: { type: 'string', multiple: true },
  });
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const [url] = positionals;
  if (url === undefined || positionals.length > 1) throw new UsageError('request needs exactly one <url>', 'request');
  const headers = parseHeaders(values.header, 'request');
  let body: Buffer | Blob | undefined;
  if (values.data !== undefined) {
    body = values.data.startsWith('@') ? await fileBody(values.data.slice(1)) : Buffer.from(values.data);
  }
  const session = openSession(values.session, values.cacert);
  const task = session.request(url, { method: values.request, body, headers, stream: true, throwHttpErrors: false });
  const release = onInterrupt(() => task.cancel());
  try {
    const response = await task.done;
    if (values.include) {
      let head = `HTTP ${response.statusCode}\r\n`;
      // Set-Cookie arrives as an array, one entry per header line: printed so.
      for (const [name, value] of Object.entries(response.headers))
        for (const line of [value ?? []].flat()) head += `${name}: ${line}\r\n`;
      process.stdout.write(`${head}\r\n`);
    }
    await pipeline(response.body, process.stdout, { end: false });
    return values.fail && response.statusCode >= 400 ? 1 : 0;
  } catch (error) {
    process.stderr.write(`urlsession: ${describeFailure(url, error)}\n`);
    return isInterruption(error) ? 130 : 1;
  } finally {
    release();
    session.finishTasksAndInvalidate();
  }
}

/** `-d @file`: the file the user named (links resolved: it is theirs to name), sent from disk at any size. */
async function fileBody(file: string): Promise<Blob> {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    throw new UsageError(`not a file: ${file}`, 'request');
  }
  if (!fs.statSync(real).isFile()) throw new UsageError(`not a file: ${file}`, 'request');
  return openFileBlob(real);
}
