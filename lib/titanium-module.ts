// Titanium's module-level forms of session methods (ti.urlsession's ComAppceleratorUrlSessionModule
// and its example app: the session is the first argument, or the `session` key of the arguments) and its deprecated names of 2.0, as thin wrappers over the
// Session API, so code written for Titanium runs unchanged. JS thread.
import { SessionConfiguration } from './configuration';
import { ErrorCodes, typeError } from './errors';
import { Session } from './session';
import type {
  CompletedResult,
  DataTaskArguments,
  DownloadTaskArguments,
  UploadData,
  UploadTaskArguments,
} from './types';
import { expectOptionsObject } from './validate';

function expectSession(session: unknown, method: string): Session {
  if (!(session instanceof Session)) {
    throw typeError(
      ErrorCodes.INVALID_ARGUMENT,
      `${method}(session): session must be a session from createURLSession()`,
    );
  }
  return session;
}

// The task methods with the session in their arguments, as the seed's example app calls them:
// URLSession.downloadTask({ session, url }).
function splitSession<T extends object>(args: T & { session: Session }, method: string): { session: Session; rest: T } {
  const o = expectOptionsObject(args, `${method}(arguments)`);
  const { session, ...rest } = o;
  return { session: expectSession(session, method), rest: rest as T };
}

/** Titanium: URLSession.downloadTask({ session, url, ... }); the same as session.downloadTask({ url, ... }). */
export function downloadTask(args: DownloadTaskArguments & { session: Session }): number {
  const { session, rest } = splitSession<DownloadTaskArguments>(args, 'downloadTask');
  return session.downloadTask(rest);
}

/** Titanium: URLSession.uploadTask({ session, url, data, ... }). */
export function uploadTask(args: UploadTaskArguments & { session: Session }): number {
  const { session, rest } = splitSession<UploadTaskArguments>(args, 'uploadTask');
  return session.uploadTask(rest);
}

/** Titanium: URLSession.dataTask({ session, url, ... }). */
export function dataTask(args: DataTaskArguments & { session: Session }): number {
  const { session, rest } = splitSession<DataTaskArguments>(args, 'dataTask');
  return session.dataTask(rest);
}

/** Titanium: URLSession.finishTasksAndInvalidate(session). */
export function finishTasksAndInvalidate(session: Session): void {
  expectSession(session, 'finishTasksAndInvalidate').finishTasksAndInvalidate();
}

/** Titanium: URLSession.invalidateAndCancel(session). */
export function invalidateAndCancel(session: Session): void {
  expectSession(session, 'invalidateAndCancel').invalidateAndCancel();
}

/** Titanium: URLSession.reset(session, callback); without a callback, a promise. */
export function reset(session: Session, callback?: (result: CompletedResult) => void): Promise<CompletedResult> | void {
  const s = expectSession(session, 'reset');
  return callback === undefined ? s.reset() : s.reset(callback);
}

/** Titanium: URLSession.flush(session, callback); without a callback, a promise. */
export function flush(session: Session, callback?: (result: CompletedResult) => void): Promise<CompletedResult> | void {
  const s = expectSession(session, 'flush');
  return callback === undefined ? s.flush() : s.flush(callback);
}

/** @deprecated Titanium 2.0's name: use createSessionConfiguration({ identifier }). */
export function createURLSessionBackgroundConfiguration(
  identifier: string | { identifier: string },
): SessionConfiguration {
  return new SessionConfiguration(identifier);
}

/** @deprecated Titanium 2.0's form: use session.downloadTask({ url }). Returns the task identifier. */
export function backgroundDownloadTaskWithURL(session: Session, url: string): number {
  return expectSession(session, 'backgroundDownloadTaskWithURL').downloadTask({ url });
}

/** @deprecated Titanium 2.1's module form: use session.downloadTask({ url }). */
export function addBackgroundDownloadTask(args: { session: Session; url: string }): number {
  const { session, rest } = splitSession<DownloadTaskArguments>(args, 'addBackgroundDownloadTask');
  return session.downloadTask(rest);
}

/** @deprecated Titanium 2.1's module form: use session.uploadTask({ url, data }). */
export function addBackgroundUploadTask(args: { session: Session; url: string; data: UploadData }): number {
  const { session, rest } = splitSession<UploadTaskArguments>(args, 'addBackgroundUploadTask');
  return session.uploadTask(rest);
}
