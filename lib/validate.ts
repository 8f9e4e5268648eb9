// Synchronous argument checks. Every failure is a TypeError/RangeError with a stable code
// (lib/errors.ts), thrown before anything reaches the engine.
import { constants as bufferConstants } from 'node:buffer';
import { ErrorCodes, rangeError, typeError } from './errors';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_IN_VALUE = /[\r\n\0]/;
const MAX_METHOD_LENGTH = 64;

/**
 * An object literal (or Object.create(null)), from this realm or another one: an app run in a vm
 * context (a Titanium shim, Jest's node environment) builds its options with that context's
 * Object, whose prototype is not ours. Class instances, arrays and boxed values are not plain.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return true;
  return (
    Object.getPrototypeOf(proto) === null &&
    Object.prototype.toString.call(value) === '[object Object]' &&
    typeof proto.constructor === 'function' &&
    proto.constructor.name === 'Object'
  );
}

export function expectOptionsObject(value: unknown, what: string): Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, `${what} must be a plain object`);
  }
  return value;
}

export function rejectUnknownKeys(options: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw typeError(ErrorCodes.UNKNOWN_OPTION, `${what}: unknown option "${key}" (known: ${allowed.join(', ')})`);
    }
  }
}

/** Parses and checks a URL: required, absolute, http or https. Returns its normalised text. */
export function validateUrl(value: unknown, what = 'url'): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw typeError(ErrorCodes.INVALID_URL, `${what} must be a non-empty string`);
  }
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw typeError(ErrorCodes.INVALID_URL, `${what} is not a valid absolute URL: ${JSON.stringify(redactUrl(value))}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw typeError(
      ErrorCodes.UNSUPPORTED_SCHEME,
      `${what} must use http or https, not "${parsed.protocol.slice(0, -1)}"`,
    );
  }
  return parsed.href;
}

/** The URL without user:password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@?#]*@/, '//***@');
}

/** Checks a header dictionary and flattens it to [name, value, ...] for the engine. */
export function validateHeaders(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!isPlainObject(value)) {
    throw typeError(ErrorCodes.INVALID_HEADER, `${what} must be an object of string header values`);
  }
  const flat: string[] = [];
  for (const [name, headerValue] of Object.entries(value)) {
    if (!TOKEN.test(name)) {
      throw typeError(ErrorCodes.INVALID_HEADER, `${what}: invalid header name ${JSON.stringify(name)}`);
    }
    if (typeof headerValue !== 'string') {
      throw typeError(
        ErrorCodes.INVALID_HEADER,
        `${what}: the value of "${name}" must be a string, not ${typeof headerValue}`,
      );
    }
    if (FORBIDDEN_IN_VALUE.test(headerValue)) {
      throw typeError(ErrorCodes.INVALID_HEADER, `${what}: the value of "${name}" contains CR, LF or NUL`);
    }
    flat.push(name, headerValue);
  }
  return flat;
}

export function validateMethod(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  // RFC 9110 sets no length; the longest registered method (UPDATEREDIRECTREF) has 17 letters.
  if (typeof value !== 'string' || value.length > MAX_METHOD_LENGTH || !TOKEN.test(value)) {
    const shown =
      typeof value === 'string' && value.length > MAX_METHOD_LENGTH
        ? `${value.length} characters`
        : JSON.stringify(value);
    throw typeError(
      ErrorCodes.INVALID_ARGUMENT,
      `method must be an HTTP method token of at most ${MAX_METHOD_LENGTH} characters such as "POST", got ${shown}`,
    );
  }
  return value.toUpperCase();
}

export function validateNumber(
  value: unknown,
  what: string,
  { min, max, integer = false }: { min: number; max?: number; integer?: boolean },
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, `${what} must be a number`);
  }
  if (integer && !Number.isInteger(value)) throw rangeError(`${what} must be an integer, got ${value}`);
  if (value < min || (max !== undefined && value > max)) {
    throw rangeError(`${what} must be between ${min} and ${max ?? 'infinity'}, got ${value}`);
  }
  return value;
}

/** A size limit: a whole number of bytes from 1 to the largest Buffer Node can make. */
export function validateByteLimit(value: unknown, what: string): number | undefined {
  return validateNumber(value, what, { min: 1, max: bufferConstants.MAX_LENGTH, integer: true });
}

export function validateString(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, `${what} must be a non-empty string without NUL`);
  }
  return value;
}
