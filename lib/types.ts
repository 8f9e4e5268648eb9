// Public types of urlsession. Field names of the events follow Titanium's ti.urlsession
// module exactly (see README, "Events"), so code written for Ti.App.iOS listeners ports as is.
import type { BodyStreamSource } from './request-body-stream';

/** Options of {@link createSessionConfiguration}. Only `identifier` and `HTTPHeaderFields` exist in Titanium. */
export interface SessionConfigurationOptions {
  /** Unique identifier of the session (creation-only). A live session with the same identifier is returned again by createSession. Generated when omitted. */
  identifier?: string;
  /** Extra headers sent with every request of the session; per-request headers win on the same name. */
  HTTPHeaderFields?: Record<string, string>;
  /** Seconds a request may go without receiving any bytes before it fails with -1001. Default 60. */
  timeoutIntervalForRequest?: number;
  /** Seconds a whole transfer may take before it fails with -1001. Default 0 (no limit). */
  timeoutIntervalForResource?: number;
  /** Parallel connections per host. Default 6. */
  HTTPMaximumConnectionsPerHost?: number;
  /**
   * Not in Titanium: tasks of this session running at once. Later ones wait, by priority (then
   * in order), with `state: 'waiting'` in getAllTasks(). Default 0: no limit.
   */
  maximumConcurrentTasks?: number;
  /** Minimum milliseconds between two progress events of one task. Default 100. */
  progressInterval?: number;
  /** Redirects followed before a task fails with -1007. Default 20. */
  maximumRedirects?: number;
  /** Follow redirects from https to http. Default false: such a redirect fails with -1022. */
  allowsInsecureRedirects?: boolean;
  /**
   * Folder where finished downloads are placed. Default: `<os.tmpdir()>/urlsession-<uid>`, a folder
   * of this user's alone (created 0700; a session refuses one that is a link or belongs to
   * someone else with ERR_URLSESSION_DOWNLOAD_DIRECTORY).
   */
  downloadDirectory?: string;
  /**
   * Largest response body, in bytes, that a data or upload task keeps in memory (responseText,
   * request()'s and upload()'s `body`); a larger one fails with -1103 and is freed. Streamed
   * bodies (`stream: true`) and downloads are not limited. Default 64 MiB.
   */
  maximumResponseSize?: number;
  /**
   * Bytes per second for all of the session's running tasks together, downloads and uploads each
   * on their own; shared fairly among the running tasks (a task limited below its share leaves the
   * rest to the others). 0 or null: no limit (the default). Changed while running with
   * session.setSpeedLimit(). Not honoured by macOS background ("system") sessions.
   */
  maximumBytesPerSecond?: number | null;
  /**
   * The session's own folder for its journal, lock, cookie jar and upload bodies. Default for
   * persistent sessions: $XDG_CACHE_HOME (or ~/.cache) on Linux, ~/Library/Caches on macOS, under urlsession/<identifier>.
   */
  stateDirectory?: string;
  /** Unfinished work survives the process and is resumed by the next session with this identifier. Default: true when an identifier is given. */
  persistent?: boolean;
  /** TLS trust: extra CA certificates (PEM) and SPKI sha256 pins (base64). Verification is always on. */
  tls?: TlsOptions;
  /** 'always' (default), 'never', or 'onlyFromMainDocumentDomain' (treated as 'always' outside a browser). */
  HTTPCookieAcceptPolicy?: 'always' | 'never' | 'onlyFromMainDocumentDomain';
  /** Proxy: 'system' (default: the OS settings on macOS, the *_proxy variables on Linux), 'direct', or an explicit proxy. */
  proxy?: 'system' | 'direct' | { url: string; noProxy?: string[] };
  /** Honoured by the macOS engine; accepted and ignored on Linux. Default true. */
  allowsCellularAccess?: boolean;
  /** Honoured by the macOS engine; accepted and ignored on Linux. Default true. */
  allowsExpensiveNetworkAccess?: boolean;
  /** Honoured by the macOS engine; accepted and ignored on Linux. Default true. */
  allowsConstrainedNetworkAccess?: boolean;
}

export interface TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  /** base64 sha256 of the server's SubjectPublicKeyInfo, optionally prefixed with "sha256/". */
  pinnedPublicKeys?: string[];
}

/** Arguments of Session.downloadTask. */
export interface DownloadTaskArguments {
  url: string;
  /** Free text kept with the task, across restarts of persistent sessions. */
  taskDescription?: string;
  /** Additional request headers (not in Titanium's downloadTask, accepted here). */
  requestHeaders?: Record<string, string>;
  /** Not in Titanium: NSURLSessionTask's priority, 0.0–1.0 (default 0.5): higher starts first among waiting tasks. */
  priority?: number;
  /** Not in Titanium: this task's speed limit in bytes per second (0 or null: none); session.setTaskSpeedLimit changes it. */
  maximumBytesPerSecond?: number | null;
  /** Parallel Range requests, 1..16 or 'auto' (not in Titanium's downloadTask; README "Segmented downloads"). */
  segments?: number | 'auto';
}

/**
 * Body of an upload: bytes in memory, a Blob, the path of a file streamed from disk, or a
 * ReadableStream / Node Readable / async iterable of bytes, streamed as it is read.
 */
export type UploadData = Buffer | Uint8Array | Blob | string | BodyStreamSource;

/** Arguments of Session.uploadTask. */
export interface UploadTaskArguments {
  url: string;
  taskDescription?: string;
  /** Bytes, a Blob, a file path (a string is always a path for uploads), or a stream of bytes. */
  data: UploadData;
  /** Default 'POST'. */
  method?: string;
  requestHeaders?: Record<string, string>;
  /** Not in Titanium: NSURLSessionTask's priority, 0.0–1.0 (default 0.5): higher starts first among waiting tasks. */
  priority?: number;
  /** Not in Titanium: as DownloadTaskArguments'. */
  maximumBytesPerSecond?: number | null;
}

/** Arguments of Session.dataTask. */
export interface DataTaskArguments {
  url: string;
  taskDescription?: string;
  /**
   * A plain object is sent as JSON; a string, Buffer, Uint8Array or Blob is sent as is; a
   * ReadableStream, Node Readable or async iterable of bytes is streamed as it is read.
   */
  data?: Record<string, unknown> | unknown[] | string | Buffer | Uint8Array | Blob | BodyStreamSource;
  /** Default 'POST' when `data` is given, 'GET' otherwise. */
  method?: string;
  requestHeaders?: Record<string, string>;
  /** Not in Titanium: NSURLSessionTask's priority, 0.0–1.0 (default 0.5): higher starts first among waiting tasks. */
  priority?: number;
  /** Not in Titanium: as DownloadTaskArguments'. */
  maximumBytesPerSecond?: number | null;
}

/** Not in Titanium: the live rate of a transfer, in every progress event (lib/transfer-rate.ts). */
export interface TransferRateFields {
  /** Bytes per second over the last few seconds, counting only bytes moved meanwhile; null at first. */
  bytesPerSecond: number | null;
  /** Seconds until the expected size is reached at that rate; null when the size or rate is unknown. */
  secondsRemaining: number | null;
}

export interface DownloadProgressEvent extends TransferRateFields {
  taskIdentifier: number;
  /** Bytes received since the previous downloadprogress event of this task. */
  bytesWritten: number;
  totalBytesWritten: number;
  /** Content-Length of the response; 0 when unknown. */
  totalBytesExpectedToWrite: number;
  sessionIdentifier: string;
}

export interface UploadProgressEvent extends TransferRateFields {
  taskIdentifier: number;
  /** Bytes sent since the previous uploadprogress event of this task. */
  bytesSent: number;
  totalBytesSent: number;
  totalBytesExpectedToSend: number;
  sessionIdentifier: string;
}

export interface DownloadCompletedEvent {
  taskIdentifier: number;
  sessionIdentifier: string;
  /** Absolute path of the downloaded file. It stays until the app removes it. */
  location: string;
  /**
   * The downloaded file as a Blob, read lazily and right at any size, typed with the response's
   * Content-Type. Reading fails with NotReadableError once the file is changed or replaced.
   */
  data: Blob;
  statusCode: number;
}

export interface SessionCompletedEvent {
  taskIdentifier: number;
  sessionIdentifier: string;
  /** True when the transfer finished (whatever the HTTP status); false on a transport error or cancel. */
  success: boolean;
  /** NSURLErrorDomain code; 0 on success. */
  errorCode: number;
  /** Human-readable description of the error; '' on success. */
  message: string;
  /** HTTP status of the response; 0 when none arrived. */
  statusCode: number;
  /** The response body as UTF-8 text (upload and data tasks only). */
  responseText?: string;
}

export interface SessionEventsCompletedEvent {
  sessionIdentifier: string;
}

export interface SessionInvalidatedEvent {
  sessionIdentifier: string;
}

export interface SessionWarningEvent {
  sessionIdentifier: string;
  message: string;
  /** The file concerned: the journal set aside, or the file a failed write was for. */
  path?: string;
  /** For a failed write into the state folder: the errno code, e.g. 'ENOSPC'. */
  code?: string;
}

export interface URLSessionEventMap {
  downloadprogress: DownloadProgressEvent;
  downloadcompleted: DownloadCompletedEvent;
  uploadprogress: UploadProgressEvent;
  sessioncompleted: SessionCompletedEvent;
  sessioneventscompleted: SessionEventsCompletedEvent;
  /** Not in Titanium: the session finished invalidating; its identifier can be used again. */
  invalidated: SessionInvalidatedEvent;
  /** Not in Titanium: a non-fatal problem, e.g. a damaged journal set aside at re-attach. */
  warning: SessionWarningEvent;
}

export type URLSessionEventName = keyof URLSessionEventMap;

/** The same events as EventEmitter<T> takes them: each event's listener arguments (Session, the module). */
export type URLSessionEvents = { [K in URLSessionEventName]: [event: URLSessionEventMap[K]] };

/** Result passed to reset/flush callbacks (and resolved by their promises). */
export interface CompletedResult {
  completed: true;
}
