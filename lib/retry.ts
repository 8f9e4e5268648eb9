// Retry policy of the promise API: which failures are retried, and after how long
// (exponential backoff with full jitter, or the server's Retry-After when it sends one).
import { ErrorCodes, NSURLError, typeError } from './errors';
import { isPlainObject, rejectUnknownKeys, validateNumber } from './validate';

export interface RetryOptions {
  /** Retries after the first attempt. Default 2; 0 disables retrying. */
  limit?: number;
  /** Methods that may be retried. Default GET, PUT, HEAD, DELETE, OPTIONS, TRACE. */
  methods?: string[];
  /** HTTP statuses that are retried. Default 408, 413, 429, 500, 502, 503, 504, 521, 522, 524. */
  statusCodes?: number[];
  /** NSURLError codes that are retried. Default -1001, -1004, -1005, -1009. */
  errorCodes?: number[];
  /** Backoff in milliseconds: min(max, initial * factor^(attempt-1)), with full jitter. */
  backoff?: { initial?: number; max?: number; factor?: number; jitter?: boolean };
  /** A Retry-After longer than this (ms) is not waited for: the failure stands. Default 60000. */
  maxRetryAfter?: number;
}

export interface RetryPolicy {
  limit: number;
  methods: Set<string>;
  statusCodes: Set<number>;
  errorCodes: Set<number>;
  initial: number;
  max: number;
  factor: number;
  jitter: boolean;
  maxRetryAfter: number;
}

// A bare limit (and the default) is what almost every task passes: one shared policy per limit,
// never mutated, instead of three new Sets per task (its cost: bench/ANALYSIS.md, figures moved
// from comments).
const sharedPolicies = new Map<number, RetryPolicy>();

export function parseRetry(value: unknown): RetryPolicy {
  if (value === undefined) return parseRetry(2);
  if (typeof value === 'number') {
    const shared = sharedPolicies.get(value);
    if (shared !== undefined) return shared;
    const policy = parseRetry({ limit: value }); // validates: only valid limits are cached
    sharedPolicies.set(value, policy);
    return policy;
  }
  if (!isPlainObject(value))
    throw typeError(ErrorCodes.INVALID_ARGUMENT, 'retry must be a number or an options object');
  rejectUnknownKeys(value, ['limit', 'methods', 'statusCodes', 'errorCodes', 'backoff', 'maxRetryAfter'], 'retry');
  const o = value as RetryOptions;
  const backoff = o.backoff ?? {};
  if (!isPlainObject(backoff)) throw typeError(ErrorCodes.INVALID_ARGUMENT, 'retry.backoff must be an object');
  rejectUnknownKeys(backoff, ['initial', 'max', 'factor', 'jitter'], 'retry.backoff');
  return {
    limit: validateNumber(o.limit, 'retry.limit', { min: 0, max: 100, integer: true }) ?? 2,
    methods: new Set(
      (list(o.methods, 'retry.methods') ?? ['GET', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']).map((m) =>
        String(m).toUpperCase(),
      ),
    ),
    statusCodes: new Set(
      (list(o.statusCodes, 'retry.statusCodes') ?? [408, 413, 429, 500, 502, 503, 504, 521, 522, 524]).map(Number),
    ),
    errorCodes: new Set(
      (
        list(o.errorCodes, 'retry.errorCodes') ?? [
          NSURLError.TimedOut,
          NSURLError.CannotConnectToHost,
          NSURLError.NetworkConnectionLost,
          NSURLError.NotConnectedToInternet,
        ]
      ).map(Number),
    ),
    initial: validateNumber(backoff.initial, 'retry.backoff.initial', { min: 0 }) ?? 1000,
    max: validateNumber(backoff.max, 'retry.backoff.max', { min: 0 }) ?? 30000,
    factor: validateNumber(backoff.factor, 'retry.backoff.factor', { min: 1 }) ?? 2,
    jitter: backoff.jitter !== false,
    maxRetryAfter: validateNumber(o.maxRetryAfter, 'retry.maxRetryAfter', { min: 0 }) ?? 60000,
  };
}

export const NO_RETRY: RetryPolicy = parseRetry(0);

function list(value: unknown, what: string): unknown[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw typeError(ErrorCodes.INVALID_ARGUMENT, `${what} must be an array`);
  return value;
}

/** Milliseconds to wait before retry number `attempt` (1-based), or -1 for no retry. */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  method: string,
  errorCode: number,
  statusCode: number,
  retryAfter: string | undefined,
): number {
  if (attempt > policy.limit || !policy.methods.has(method)) return -1;
  const retryable = errorCode !== 0 ? policy.errorCodes.has(errorCode) : policy.statusCodes.has(statusCode);
  if (!retryable) return -1;
  if (retryAfter !== undefined && errorCode === 0) {
    const serverDelay = parseRetryAfter(retryAfter);
    if (serverDelay !== undefined) return serverDelay > policy.maxRetryAfter ? -1 : serverDelay;
  }
  const ceiling = Math.min(policy.max, policy.initial * policy.factor ** (attempt - 1));
  return Math.round(policy.jitter ? Math.random() * ceiling : ceiling);
}

/** Retry-After: delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string): number | undefined {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
