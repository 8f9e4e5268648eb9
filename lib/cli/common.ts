// Pieces every CLI command shares: argument parsing with --help, header flags, session creation,
// failure messages and Ctrl-C. All of it runs on the main thread.
import * as http from 'node:http';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import * as URLSession from '../index';
import { redactUrl } from '../validate';
import { UsageError } from './errors';
import { trustedCertificates } from './trust';
import { commandUsage, type CommandName } from './usage';

type Options = NonNullable<ParseArgsConfig['options']>;
type Config<O extends Options> = {
  args: string[];
  allowPositionals: true;
  options: O & { help: { type: 'boolean'; short: 'h' } };
};

/**
 * A command's arguments, parsed strictly, with -h/--help added. Undefined when --help was asked
 * for: its text is then on stdout and the command ends with 0.
 */
export function parseCommand<O extends Options>(
  command: CommandName,
  argv: string[],
  options: O,
): ReturnType<typeof parseArgs<Config<O>>> | undefined {
  const config: Config<O> = {
    args: argv,
    allowPositionals: true,
    options: { ...options, help: { type: 'boolean', short: 'h' } },
  };
  let parsed: ReturnType<typeof parseArgs<Config<O>>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
      throw new UsageError((error as Error).message, command);
    throw error;
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    process.stdout.write(commandUsage(command));
    return undefined;
  }
  return parsed;
}

/** -H 'Name: value' flags to a header object. */
export function parseHeaders(values: string[] | undefined, command: CommandName): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values ?? []) {
    const colon = value.indexOf(':');
    if (colon <= 0) throw new UsageError(`bad header "${value}": use -H 'Name: value'`, command);
    headers[value.slice(0, colon).trim()] = value.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * A session for one CLI run: persistent when --session names one, anonymous otherwise. It
 * trusts the certificates of --cacert and of the CA variables besides the system's (trust.ts).
 */
export function openSession(identifier: string | undefined, cacert?: readonly string[]): URLSession.Session {
  const ca = trustedCertificates(cacert);
  const configuration = URLSession.createSessionConfiguration({
    ...(identifier === undefined ? {} : { identifier }),
    ...(ca.length === 0 ? {} : { tls: { ca } }),
    HTTPMaximumConnectionsPerHost: 8,
  });
  return URLSession.createSession({ configuration });
}

/** Whether a task ended because the user interrupted it (Ctrl-C cancels it: an AbortError). */
export function isInterruption(error: unknown): boolean {
  return error instanceof URLSession.AbortError;
}

/**
 * A transfer failure for people: the URL once, then the cause, then the code once. The errors'
 * own messages are made for logs (TransferError ends with "[code] url"), so that tail goes.
 */
export function describeFailure(url: string, error: unknown): string {
  const shown = redactUrl(url);
  if (error instanceof URLSession.HTTPError) {
    const reason = http.STATUS_CODES[error.statusCode];
    return `${shown}: HTTP ${error.statusCode}${reason === undefined ? '' : ` ${reason}`}`;
  }
  if (isInterruption(error)) return `${shown}: interrupted`;
  if (error instanceof URLSession.TransferError) {
    const tail = ` [${error.errorCode}] `;
    const at = error.message.lastIndexOf(tail);
    const cause = at < 0 ? error.message : error.message.slice(0, at);
    return describeCode(url, cause, error.errorCode);
  }
  return `${shown}: ${error instanceof Error ? error.message : String(error)}`;
}

/** A failure known by its NSURLError code, as the Titanium events report it. */
export function describeCode(url: string, cause: string, errorCode: number): string {
  if (errorCode === URLSession.NSURLError.Cancelled) return `${redactUrl(url)}: interrupted`;
  return `${redactUrl(url)}: ${cause} (error ${errorCode})`;
}

/** Runs `onInterrupt` at the first Ctrl-C; a second Ctrl-C exits at once. */
export function onInterrupt(handler: () => void): () => void {
  let interrupted = false;
  const listener = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    handler();
  };
  process.on('SIGINT', listener);
  return () => process.off('SIGINT', listener);
}
