// Options of session.download/upload/request, checked synchronously (coded errors).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, rangeError, typeError } from './errors';
import { parseIntegrity, type Integrity } from './integrity';
import { parseRetry, type RetryOptions, type RetryPolicy } from './retry';
import { parseSpeedLimit } from './speed-limit';
import {
  expectOptionsObject,
  rejectUnknownKeys,
  validateHeaders,
  validateByteLimit,
  validateMethod,
  validateNumber,
  validatePriority,
  validateString,
} from './validate';

export interface TaskOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Aborting cancels the task (-999) and rejects `done` with an AbortError. */
  signal?: AbortSignal;
  /** Idle timeout in seconds for this task (overrides timeoutIntervalForRequest). */
  timeout?: number;
  /** Free text kept with the task. */
  taskDescription?: string;
  /** Reject `done` with an HTTPError for a status >= 400. Default true. */
  throwHttpErrors?: boolean;
  /** Retries with exponential backoff and jitter, honouring Retry-After. A number is the limit. Default: 2 retries of idempotent methods. */
  retry?: number | RetryOptions;
  /** NSURLSessionTask's priority, 0.0–1.0 (default 0.5): higher starts first among waiting tasks. */
  priority?: number;
  /** Default true. false: a redirect is the answer (its status, Location and body), not followed. */
  followRedirects?: boolean;
  /** This task's speed limit in bytes per second, each direction (0 or null: none); task.setSpeedLimit changes it. */
  maximumBytesPerSecond?: number | null;
  /** 'omit': the session's cookies are neither sent nor updated by this task. Default 'include'. */
  credentials?: 'include' | 'omit';
  /** fetch's cache mode, as the engine's cache policy (README "fetch()"); 'only-if-cached' fails with -1008 (no HTTP cache). */
  cache?: CacheMode;
}

export interface DownloadOptions extends TaskOptions {
  /** A file path, or a folder (existing, or ending with a separator) to name the file in. */
  destination?: string;
  /** Replace an existing file at the destination. Default false: a unique name is chosen. */
  overwrite?: boolean;
  /** From task.cancelByProducingResumeData() or a TransferError: continue that download. */
  resumeData?: Buffer;
  /** Subresource Integrity ("sha256-<base64>"): verified while the bytes arrive; a mismatch leaves nothing at the destination. */
  integrity?: string;
  /** Fetch the body in up to this many parallel Range requests (1..16, or 'auto': 4) when the server allows ranges. Default 1. */
  segments?: SegmentsOption;
}

export type SegmentsOption = number | 'auto';

export interface UploadOptions extends TaskOptions {
  /** Largest response body kept in memory; larger fails with -1103. Default: the session's maximumResponseSize. */
  maximumResponseSize?: number;
}

export interface RequestOptions extends UploadOptions {
  /** A plain object is sent as JSON; a string, Buffer, Uint8Array or Blob as is; a ReadableStream or Readable streamed as it is read (chunked unless headers declare a Content-Length). */
  body?: unknown;
  /** Resolve at the response head with `body` as a Readable (backpressure pauses the transfer). */
  stream?: boolean;
}

export interface ParsedTaskOptions {
  method?: string;
  headers: string[];
  body?: unknown;
  signal?: AbortSignal;
  timeout?: number;
  taskDescription: string;
  throwHttpErrors: boolean;
  destination?: string;
  overwrite: boolean;
  resumeData?: Buffer;
  integrity?: Integrity;
  stream: boolean;
  retry: RetryPolicy;
  maximumResponseSize?: number;
  priority: number;
  maximumBytesPerSecond: number;
  followRedirects: boolean;
  segments?: number;
  omitCredentials: boolean;
  cacheMode?: CacheMode;
}

/** How many segments 'auto' asks for (the engine's SegmentPlan::kAutoSegments). */
export const AUTO_SEGMENTS = 4;
export const MAXIMUM_SEGMENTS = 16;

/**
 * A download's `segments` option as the engine's count (undefined: one request). The engine
 * still fetches in one request when the server offers no ranges or validator, or the body is
 * small (segment_plan.h).
 */
export function parseSegments(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto') return AUTO_SEGMENTS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAXIMUM_SEGMENTS) {
    throw rangeError(
      `${what} must be an integer from 1 to ${MAXIMUM_SEGMENTS} or 'auto', got ${String(value)}`,
      ErrorCodes.SEGMENTS,
    );
  }
  return value;
}

const CREDENTIALS = ['include', 'omit'] as const;
const CACHE_MODES = ['default', 'no-store', 'reload', 'no-cache', 'force-cache', 'only-if-cached'] as const;
/** fetch's RequestCache. */
export type CacheMode = (typeof CACHE_MODES)[number];

const COMMON = [
  'method',
  'headers',
  'signal',
  'timeout',
  'taskDescription',
  'throwHttpErrors',
  'retry',
  'priority',
  'maximumBytesPerSecond',
  'followRedirects',
  'credentials',
  'cache',
] as const;
const KNOWN: Record<'download' | 'upload' | 'request', readonly string[]> = {
  download: [...COMMON, 'destination', 'overwrite', 'resumeData', 'integrity', 'segments'],
  upload: [...COMMON, 'maximumResponseSize'],
  request: [...COMMON, 'body', 'stream', 'maximumResponseSize'],
};

export function parseTaskOptions(kind: 'download' | 'upload' | 'request', options: unknown): ParsedTaskOptions {
  const o = expectOptionsObject(options ?? {}, `${kind}(…, options)`);
  rejectUnknownKeys(o, KNOWN[kind], kind);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, `${kind}: signal must be an AbortSignal`);
  }
  for (const flag of ['throwHttpErrors', 'overwrite', 'stream', 'followRedirects'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') {
      throw typeError(ErrorCodes.INVALID_ARGUMENT, `${kind}: ${flag} must be a boolean`);
    }
  }
  for (const [option, values] of [
    ['credentials', CREDENTIALS],
    ['cache', CACHE_MODES],
  ] as const) {
    if (o[option] !== undefined && !(values as readonly unknown[]).includes(o[option])) {
      throw typeError(ErrorCodes.INVALID_ARGUMENT, `${kind}: ${option} must be one of ${values.join(', ')}`);
    }
  }
  if (o.taskDescription !== undefined && typeof o.taskDescription !== 'string') {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, `${kind}: taskDescription must be a string`);
  }
  return {
    method: o.method === undefined ? undefined : validateMethod(o.method, 'GET'),
    headers: validateHeaders(o.headers, 'headers'),
    body: o.body,
    signal: o.signal as AbortSignal | undefined,
    timeout: validateNumber(o.timeout, 'timeout', { min: 0 }),
    taskDescription: (o.taskDescription as string | undefined) ?? '',
    throwHttpErrors: o.throwHttpErrors !== false,
    destination: validateString(o.destination, 'destination'),
    overwrite: o.overwrite === true,
    resumeData: o.resumeData as Buffer | undefined,
    integrity: parseIntegrity(o.integrity),
    stream: o.stream === true,
    retry: parseRetry(o.retry),
    maximumResponseSize: validateByteLimit(o.maximumResponseSize, 'maximumResponseSize'),
    priority: validatePriority(o.priority),
    followRedirects: o.followRedirects !== false,
    maximumBytesPerSecond: parseSpeedLimit(o.maximumBytesPerSecond, `${kind}: maximumBytesPerSecond`),
    segments: parseSegments(o.segments, `${kind}: segments`),
    omitCredentials: o.credentials === 'omit',
    cacheMode: o.cache as CacheMode | undefined,
  };
}

export interface Destination {
  destinationDirectory: string;
  destinationFileName: string;
  /** Folder destinations take the name from Content-Disposition, else the URL. */
  nameFromResponse: boolean;
  overwrite: boolean;
}

export function resolveDestination(
  destination: string | undefined,
  defaultDirectory: string,
  overwrite: boolean,
): Destination {
  if (destination === undefined) {
    return { destinationDirectory: defaultDirectory, destinationFileName: '', nameFromResponse: true, overwrite };
  }
  const absolute = path.resolve(destination);
  const isFolder =
    /[\\/]$/.test(destination) || fs.statSync(absolute, { throwIfNoEntry: false })?.isDirectory() === true;
  if (isFolder) return { destinationDirectory: absolute, destinationFileName: '', nameFromResponse: true, overwrite };
  return {
    destinationDirectory: path.dirname(absolute),
    destinationFileName: path.basename(absolute),
    nameFromResponse: false,
    overwrite,
  };
}
