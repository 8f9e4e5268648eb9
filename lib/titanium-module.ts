// Titanium's module-level forms of session methods (ti.urlsession's ComAppceleratorUrlSessionModule:
// the session is the first argument) and its deprecated names of 2.0, as thin wrappers over the
// Session API, so code written for Titanium runs unchanged. JS thread.
import { SessionConfiguration } from './configuration';
import { ErrorCodes, typeError } from './errors';
import { Session } from './session';
import type { CompletedResult, UploadData } from './types';
import { expectOptionsObject } from './validate';

function expectSession(session: unknown, method: string): Session {
  if (!(session instanceof Session)) {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, `${method}(session): session must be a session from createURLSession()`);
  }
  return session;
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
export function createURLSessionBackgroundConfiguration(identifier: string | { identifier: string }): SessionConfiguration {
  return new SessionConfiguration(identifier);
}

/** @deprecated Titanium 2.0's form: use session.downloadTask({ url }). Returns the task identifier. */
export function backgroundDownloadTaskWithURL(session: Session, url: string): number {
  return expectSession(session, 'backgroundDownloadTaskWithURL').downloadTask({ url });
}

/** @deprecated Titanium 2.1's module form: use session.downloadTask({ url }). */
export function addBackgroundDownloadTask(args: { session: Session; url: string }): number {
  const o = expectOptionsObject(args, 'addBackgroundDownloadTask(arguments)');
  return expectSession(o.session, 'addBackgroundDownloadTask').downloadTask({ url: o.url as string });
}

/** @deprecated Titanium 2.1's module form: use session.uploadTask({ url, data }). */
export function addBackgroundUploadTask(args: { session: Session; url: string; data: UploadData }): number {
  const o = expectOptionsObject(args, 'addBackgroundUploadTask(arguments)');
  return expectSession(o.session, 'addBackgroundUploadTask').uploadTask({ url: o.url as string, data: o.data as UploadData });
}
