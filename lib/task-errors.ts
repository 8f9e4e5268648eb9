// The promise API's rejections: an HTTP error status, a transport failure (with resume data
// when the bytes can be kept), an integrity mismatch, and an abort. Each carries a stable `code`.
import { ErrorCodes, NSURLError } from './errors';
import type { ResponseHeaders } from './headers';
import type { TaskResponse } from './task-types';
import { redactUrl as redact } from './validate';

/** How much of an error response's body an HTTPError keeps. */
export const BODY_EXCERPT_LIMIT = 64 * 1024;

/** The promise API's rejection for an HTTP status of 400 or more (opt out with throwHttpErrors: false). */
export class HTTPError extends Error {
  readonly code = ErrorCodes.HTTP_ERROR;
  readonly statusCode: number;
  readonly headers: ResponseHeaders;
  readonly url: string;
  /** At most the first 64 KiB of the response body. */
  readonly body: Buffer;
  constructor(response: TaskResponse, body: Buffer) {
    super(`HTTP ${response.statusCode} from ${redact(response.url)}`);
    this.name = 'HTTPError';
    this.statusCode = response.statusCode;
    this.headers = response.headers;
    this.url = response.url;
    this.body = body.subarray(0, BODY_EXCERPT_LIMIT);
  }
}

/**
 * A transport failure: errorCode is an NSURLErrorDomain code (see URLSession.NSURLError).
 * `cause` is the error behind it when there is one on the JS side (a Blob body whose read
 * failed); the engines report theirs as errorCode and message.
 */
export class TransferError extends Error {
  readonly code: typeof ErrorCodes.TRANSFER_FAILED | typeof ErrorCodes.INTEGRITY_MISMATCH = ErrorCodes.TRANSFER_FAILED;
  readonly errorCode: number;
  /** For a failed download whose bytes can be kept: pass to session.download({ resumeData }). */
  resumeData?: Buffer;
  constructor(errorCode: number, message: string, url: string, options?: ErrorOptions) {
    super(`${message} [${errorCode}] ${redact(url)}`, options);
    this.name = 'TransferError';
    this.errorCode = errorCode;
  }
}

/** A download whose bytes do not match its `integrity`; nothing was left at the destination. */
export class IntegrityError extends TransferError {
  override readonly code = ErrorCodes.INTEGRITY_MISMATCH;
  constructor(message: string, url: string) {
    super(NSURLError.IntegrityMismatch, message, url);
    this.name = 'IntegrityError';
  }
}

/** Cancellation through task.cancel() or an AbortSignal: errorCode -999. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR' as const;
  readonly errorCode = NSURLError.Cancelled;
  constructor(reason?: unknown) {
    super('The transfer was aborted', reason === undefined ? undefined : { cause: reason });
    this.name = 'AbortError';
  }
}
