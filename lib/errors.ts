// Coded errors thrown synchronously for bad arguments and misuse, and the NSURLErrorDomain
// codes that transfer failures carry on every engine.

/** Stable `code` values of the errors urlsession throws. */
export const ErrorCodes = {
  /** An argument has the wrong type (TypeError). */
  INVALID_ARGUMENT: 'ERR_URLSESSION_INVALID_ARGUMENT',
  /** A URL is missing or cannot be parsed (TypeError). */
  INVALID_URL: 'ERR_URLSESSION_INVALID_URL',
  /** A URL's scheme is not http or https (TypeError). */
  UNSUPPORTED_SCHEME: 'ERR_URLSESSION_UNSUPPORTED_SCHEME',
  /** A header name or value is not a string, or holds CR, LF or NUL, or the name is not a token (TypeError). */
  INVALID_HEADER: 'ERR_URLSESSION_INVALID_HEADER',
  /** An options object has a key urlsession does not know (TypeError). */
  UNKNOWN_OPTION: 'ERR_URLSESSION_UNKNOWN_OPTION',
  /** A number is outside its allowed range (RangeError). */
  OUT_OF_RANGE: 'ERR_URLSESSION_OUT_OF_RANGE',
  /** A creation-only property was written (TypeError). */
  READ_ONLY: 'ERR_URLSESSION_READ_ONLY',
  /** A method was called on a session that is invalidated or invalidating (Error). */
  SESSION_INVALIDATED: 'ERR_URLSESSION_SESSION_INVALIDATED',
  /** createSession was given the identifier of a session that is still invalidating (Error). */
  IDENTIFIER_BUSY: 'ERR_URLSESSION_IDENTIFIER_BUSY',
  /** The promise API's rejection for an HTTP status >= 400 (HTTPError). */
  HTTP_ERROR: 'ERR_URLSESSION_HTTP_ERROR',
  /** The promise API's rejection for a transport failure (TransferError; see errorCode). */
  TRANSFER_FAILED: 'ERR_URLSESSION_TRANSFER_FAILED',
  /** A download's bytes did not match its `integrity` (IntegrityError, errorCode -4000). */
  INTEGRITY_MISMATCH: 'ERR_URLSESSION_INTEGRITY_MISMATCH',
  /** Another session (another process, or another identifier or worker thread of this one) owns this state directory (Error). */
  SESSION_LOCKED: 'ERR_URLSESSION_SESSION_LOCKED',
  /** The state directory cannot be created, locked or read, or belongs to another user (Error). */
  STATE_DIRECTORY: 'ERR_URLSESSION_STATE_DIRECTORY',
  /** The default download folder cannot be created, or is not a private folder of this user's (Error). */
  DOWNLOAD_DIRECTORY: 'ERR_URLSESSION_DOWNLOAD_DIRECTORY',
  /** The platform engine could not start, e.g. no file descriptor left for its event loop (Error, from createSession). */
  ENGINE_START: 'ERR_URLSESSION_ENGINE_START',
  /** resumeData was not made by this user's urlsession, or its partial file is no longer ours (TypeError). */
  INVALID_RESUME_DATA: 'ERR_URLSESSION_INVALID_RESUME_DATA',
  /** Linux: the addon could not be loaded because the system's libcurl.so.4 is missing or broken (Error, from require). */
  LIBCURL_MISSING: 'ERR_URLSESSION_LIBCURL_MISSING',
  /** A speed limit is not a whole number of bytes per second >= 0 (RangeError; TypeError for a non-number). */
  SPEED_LIMIT: 'ERR_URLSESSION_SPEED_LIMIT',
  /** A download's `segments` is neither an integer from 1 to 16 nor 'auto' (RangeError). */
  SEGMENTS: 'ERR_URLSESSION_SEGMENTS',
  /** fetch() with redirect: 'error' got a redirect (the cause of its TypeError). */
  UNEXPECTED_REDIRECT: 'ERR_URLSESSION_UNEXPECTED_REDIRECT',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface CodedError extends Error {
  code: ErrorCode;
}

export function withCode<E extends Error>(error: E, code: ErrorCode): E & CodedError {
  Object.defineProperty(error, 'code', { value: code, enumerable: true, writable: false, configurable: true });
  return error as E & CodedError;
}

export function codedError(code: ErrorCode, message: string): Error & CodedError {
  return withCode(new Error(message), code);
}

export function typeError(code: ErrorCode, message: string): TypeError & CodedError {
  return withCode(new TypeError(message), code);
}

export function rangeError(message: string, code: ErrorCode = ErrorCodes.OUT_OF_RANGE): RangeError & CodedError {
  return withCode(new RangeError(message), code);
}

export function identifierBusyError(sessionIdentifier: string): Error & CodedError {
  return withCode(
    new Error(`Session "${sessionIdentifier}" is still invalidating; create it again after its 'invalidated' event`),
    ErrorCodes.IDENTIFIER_BUSY,
  );
}

export function invalidatedError(sessionIdentifier: string): Error & CodedError {
  return withCode(
    new Error(`Session "${sessionIdentifier}" is invalidated; create a new session to start more work`),
    ErrorCodes.SESSION_INVALIDATED,
  );
}

/**
 * NSURLErrorDomain codes. Both engines report these numbers (the libcurl engine maps its
 * results onto them in native/curl/curl_errors.cc), so error handling is portable.
 */
export const NSURLError = {
  Unknown: -1,
  Cancelled: -999,
  BadURL: -1000,
  TimedOut: -1001,
  UnsupportedURL: -1002,
  CannotFindHost: -1003,
  CannotConnectToHost: -1004,
  NetworkConnectionLost: -1005,
  DNSLookupFailed: -1006,
  HTTPTooManyRedirects: -1007,
  ResourceUnavailable: -1008,
  NotConnectedToInternet: -1009,
  RedirectToNonExistentLocation: -1010,
  AppTransportSecurityRequiresSecureConnection: -1022,
  BadServerResponse: -1011,
  UserCancelledAuthentication: -1012,
  UserAuthenticationRequired: -1013,
  ZeroByteResource: -1014,
  CannotDecodeRawData: -1015,
  CannotDecodeContentData: -1016,
  CannotParseResponse: -1017,
  RequestBodyStreamExhausted: -1021,
  FileDoesNotExist: -1100,
  FileIsDirectory: -1101,
  NoPermissionsToReadFile: -1102,
  DataLengthExceedsMaximum: -1103,
  SecureConnectionFailed: -1200,
  ServerCertificateHasBadDate: -1201,
  ServerCertificateUntrusted: -1202,
  ServerCertificateHasUnknownRoot: -1203,
  ServerCertificateNotYetValid: -1204,
  ClientCertificateRejected: -1205,
  ClientCertificateRequired: -1206,
  CannotCreateFile: -3000,
  CannotOpenFile: -3001,
  CannotCloseFile: -3002,
  CannotWriteToFile: -3003,
  CannotRemoveFile: -3004,
  CannotMoveFile: -3005,
  /** urlsession's own code (not NSURLErrorDomain): the bytes do not match the given integrity. */
  IntegrityMismatch: -4000,
} as const;
