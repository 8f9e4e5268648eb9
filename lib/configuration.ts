// SessionConfiguration: Titanium's createSessionConfiguration() result, plus Node-only options.
import * as path from 'node:path';
import { ErrorCodes, typeError } from './errors';
import type { SessionConfigurationOptions, TlsOptions } from './types';
import {
  expectOptionsObject,
  isPlainObject,
  rejectUnknownKeys,
  validateHeaders,
  validateByteLimit,
  validateNumber,
  validateString,
  validateUrl,
} from './validate';
import type { NativeSessionConfig } from './native';
import { parseSpeedLimit } from './speed-limit';
import { defaultStateDirectory } from './state-directory';
import { defaultDownloadDirectory } from './user-folders';

/** Default of maximumResponseSize: a body kept in memory past this fails with -1103. */
export const DEFAULT_MAXIMUM_RESPONSE_SIZE = 64 * 1024 * 1024;

const KNOWN_OPTIONS = [
  'identifier',
  'HTTPHeaderFields',
  'timeoutIntervalForRequest',
  'timeoutIntervalForResource',
  'HTTPMaximumConnectionsPerHost',
  'maximumConcurrentTasks',
  'progressInterval',
  'maximumRedirects',
  'allowsInsecureRedirects',
  'downloadDirectory',
  'stateDirectory',
  'tls',
  'HTTPCookieAcceptPolicy',
  'proxy',
  'allowsCellularAccess',
  'allowsExpensiveNetworkAccess',
  'allowsConstrainedNetworkAccess',
  'persistent',
  'maximumResponseSize',
  'maximumBytesPerSecond',
] as const;

/** HTTPCookieAcceptPolicy's names, in the order of native/engine/engine.h's CookieAcceptPolicy. */
const COOKIE_POLICIES = ['always', 'never', 'onlyFromMainDocumentDomain'] as const;
/** The proxy modes, in the order of native/engine/engine.h's ProxyMode. */
const PROXY_MODES = ['system', 'direct', 'explicit'] as const;
type Proxy = 'system' | 'direct' | { url: string; noProxy: readonly string[] };

let anonymousCount = 0;

export class SessionConfiguration {
  /** Creation-only identifier of the session. */
  declare readonly identifier: string;
  readonly timeoutIntervalForRequest: number;
  readonly timeoutIntervalForResource: number;
  readonly HTTPMaximumConnectionsPerHost: number;
  /** Tasks running at once; 0: no limit (lib/task-launcher.ts queues the rest). */
  readonly maximumConcurrentTasks: number;
  readonly progressInterval: number;
  readonly maximumRedirects: number;
  /** Follow redirects from https to http. Default false: they fail with -1022. */
  readonly allowsInsecureRedirects: boolean;
  readonly downloadDirectory: string;
  /** Whether downloadDirectory is the per-user default (checked to be private before use). */
  readonly usesDefaultDownloadDirectory: boolean;
  /** Bytes a data or upload task's body may reach in memory before it fails with -1103. */
  readonly maximumResponseSize: number;
  /** Bytes per second for all the session's running tasks together, each direction; 0: no limit. At creation; session.setSpeedLimit changes it. */
  readonly maximumBytesPerSecond: number;
  /** The session's own folder for its journal, lock, cookie jar and upload bodies; undefined when not persistent. */
  readonly stateDirectory: string | undefined;
  /** Whether the session's unfinished work survives the process (a journal in stateDirectory). */
  readonly persistent: boolean;
  readonly tls: Readonly<{ ca: string; pinnedPublicKeys: readonly string[] }>;
  readonly HTTPCookieAcceptPolicy: (typeof COOKIE_POLICIES)[number];
  readonly proxy: Proxy;
  readonly allowsCellularAccess: boolean;
  readonly allowsExpensiveNetworkAccess: boolean;
  readonly allowsConstrainedNetworkAccess: boolean;
  #headers: Record<string, string> = {};
  /** A session was created from this configuration (or has its identifier): HTTPHeaderFields is then fixed. */
  #used = false;

  /** `options` may be the identifier alone, as the seed documents ("takes one argument, a string"). */
  constructor(options: SessionConfigurationOptions | string = {}) {
    const o = expectOptionsObject(
      typeof options === 'string' ? { identifier: options } : options,
      'createSessionConfiguration(options)',
    );
    rejectUnknownKeys(o, KNOWN_OPTIONS, 'createSessionConfiguration');
    const givenIdentifier = validateString(o.identifier, 'identifier');
    const identifier = givenIdentifier ?? `urlsession.anonymous.${process.pid}.${++anonymousCount}`;
    // Creation-only, as in Titanium: a write throws instead of being silently ignored.
    Object.defineProperty(this, 'identifier', {
      get: () => identifier,
      set: () => {
        throw typeError(ErrorCodes.READ_ONLY, 'identifier is creation-only');
      },
      enumerable: true,
    });
    this.HTTPHeaderFields = (o.HTTPHeaderFields ?? {}) as Record<string, string>;
    // Seconds; 0 or Infinity: no timeout, the same on both engines (native/core/timeouts.h).
    this.timeoutIntervalForRequest =
      validateNumber(o.timeoutIntervalForRequest, 'timeoutIntervalForRequest', { min: 0 }) ?? 60;
    this.timeoutIntervalForResource =
      validateNumber(o.timeoutIntervalForResource, 'timeoutIntervalForResource', { min: 0 }) ?? 0;
    this.HTTPMaximumConnectionsPerHost =
      validateNumber(o.HTTPMaximumConnectionsPerHost, 'HTTPMaximumConnectionsPerHost', {
        min: 1,
        max: 1000,
        integer: true,
      }) ?? 6;
    this.maximumConcurrentTasks =
      validateNumber(o.maximumConcurrentTasks, 'maximumConcurrentTasks', { min: 0, integer: true }) ?? 0;
    this.progressInterval = validateNumber(o.progressInterval, 'progressInterval', { min: 0, max: 60_000 }) ?? 100;
    this.maximumRedirects =
      validateNumber(o.maximumRedirects, 'maximumRedirects', { min: 0, max: 1000, integer: true }) ?? 20;
    this.allowsInsecureRedirects =
      o.allowsInsecureRedirects === undefined ? false : parseFlag(o.allowsInsecureRedirects, 'allowsInsecureRedirects');
    const downloadDirectory = validateString(o.downloadDirectory, 'downloadDirectory');
    this.downloadDirectory = path.resolve(downloadDirectory ?? defaultDownloadDirectory());
    this.usesDefaultDownloadDirectory = downloadDirectory === undefined;
    this.maximumResponseSize =
      validateByteLimit(o.maximumResponseSize, 'maximumResponseSize') ?? DEFAULT_MAXIMUM_RESPONSE_SIZE;
    this.maximumBytesPerSecond = parseSpeedLimit(o.maximumBytesPerSecond, 'maximumBytesPerSecond');
    // Background sessions (with an identifier) persist by default, as the seed promises.
    if (o.persistent !== undefined && typeof o.persistent !== 'boolean') {
      throw typeError(ErrorCodes.INVALID_ARGUMENT, 'persistent must be a boolean');
    }
    this.persistent = (o.persistent as boolean | undefined) ?? givenIdentifier !== undefined;
    const stateDirectory = validateString(o.stateDirectory, 'stateDirectory');
    this.stateDirectory =
      stateDirectory !== undefined
        ? path.resolve(stateDirectory)
        : this.persistent
          ? defaultStateDirectory(identifier)
          : undefined;
    this.tls = Object.freeze(parseTls(o.tls));
    const policy = o.HTTPCookieAcceptPolicy ?? 'always';
    if (!COOKIE_POLICIES.includes(policy as never)) {
      throw typeError(
        ErrorCodes.INVALID_ARGUMENT,
        `HTTPCookieAcceptPolicy must be one of ${COOKIE_POLICIES.join(', ')}`,
      );
    }
    this.HTTPCookieAcceptPolicy = policy as (typeof COOKIE_POLICIES)[number];
    this.proxy = parseProxy(o.proxy);
    this.allowsCellularAccess = parseFlag(o.allowsCellularAccess, 'allowsCellularAccess');
    this.allowsExpensiveNetworkAccess = parseFlag(o.allowsExpensiveNetworkAccess, 'allowsExpensiveNetworkAccess');
    this.allowsConstrainedNetworkAccess = parseFlag(o.allowsConstrainedNetworkAccess, 'allowsConstrainedNetworkAccess');
  }

  /** Extra headers for every request of the session. Writable until the session is created. */
  get HTTPHeaderFields(): Record<string, string> {
    return { ...this.#headers };
  }

  set HTTPHeaderFields(value: Record<string, string>) {
    // The session copied them when it was created: a later write would be silently ignored.
    if (this.#used)
      throw typeError(
        ErrorCodes.READ_ONLY,
        'HTTPHeaderFields is writable only until a session is created with this configuration',
      );
    validateHeaders(value, 'HTTPHeaderFields');
    this.#headers = { ...value };
  }

  /** @internal A session was created with this configuration, or returned for its identifier. */
  markUsed(): void {
    this.#used = true;
  }

  /** @internal The engine's view of this configuration. */
  toNative(): NativeSessionConfig {
    return {
      identifier: this.identifier,
      persistent: this.persistent,
      headers: validateHeaders(this.#headers, 'HTTPHeaderFields'),
      stateDirectory: this.stateDirectory ?? '',
      timeoutIntervalForRequest: this.timeoutIntervalForRequest,
      timeoutIntervalForResource: this.timeoutIntervalForResource,
      maximumConnectionsPerHost: this.HTTPMaximumConnectionsPerHost,
      maximumRedirects: this.maximumRedirects,
      allowsInsecureRedirects: this.allowsInsecureRedirects,
      progressIntervalMs: this.progressInterval,
      caPem: this.tls.ca,
      pinnedSpkiSha256: [...this.tls.pinnedPublicKeys],
      cookieAcceptPolicy: COOKIE_POLICIES.indexOf(this.HTTPCookieAcceptPolicy) as 0 | 1 | 2,
      proxyMode: PROXY_MODES.indexOf(typeof this.proxy === 'string' ? this.proxy : 'explicit') as 0 | 1 | 2,
      proxyUrl: typeof this.proxy === 'object' ? this.proxy.url : '',
      noProxy: typeof this.proxy === 'object' ? this.proxy.noProxy.join(',') : '',
      allowsCellularAccess: this.allowsCellularAccess,
      allowsExpensiveNetworkAccess: this.allowsExpensiveNetworkAccess,
      allowsConstrainedNetworkAccess: this.allowsConstrainedNetworkAccess,
      maximumBytesPerSecond: this.maximumBytesPerSecond,
    };
  }
}

function parseFlag(value: unknown, what: string): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw typeError(ErrorCodes.INVALID_ARGUMENT, `${what} must be a boolean`);
  return value;
}

function parseProxy(value: unknown): Proxy {
  if (value === undefined || value === 'system') return 'system';
  if (value === 'direct') return 'direct';
  if (!isPlainObject(value))
    throw typeError(ErrorCodes.INVALID_ARGUMENT, "proxy must be 'system', 'direct' or { url, noProxy }");
  rejectUnknownKeys(value, ['url', 'noProxy'], 'proxy');
  const url = validateUrl(value.url, 'proxy.url');
  const noProxy = value.noProxy ?? [];
  if (!Array.isArray(noProxy) || noProxy.some((host) => typeof host !== 'string' || /[,\s]/.test(host))) {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, 'proxy.noProxy must be an array of host names');
  }
  return Object.freeze({ url, noProxy: Object.freeze([...noProxy]) });
}

function parseTls(value: unknown): { ca: string; pinnedPublicKeys: string[] } {
  if (value === undefined) return { ca: '', pinnedPublicKeys: [] };
  if (!isPlainObject(value)) throw typeError(ErrorCodes.INVALID_ARGUMENT, 'tls must be a plain object');
  rejectUnknownKeys(value, ['ca', 'pinnedPublicKeys'], 'tls');
  const tls = value as TlsOptions;
  const list = tls.ca === undefined ? [] : Array.isArray(tls.ca) ? tls.ca : [tls.ca];
  const pems = list.map((entry) => {
    if (typeof entry !== 'string' && !Buffer.isBuffer(entry)) {
      throw typeError(ErrorCodes.INVALID_ARGUMENT, 'tls.ca must be PEM text or a Buffer of it (or an array of those)');
    }
    const pem = entry.toString();
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw typeError(
        ErrorCodes.INVALID_ARGUMENT,
        'tls.ca must contain PEM certificates (-----BEGIN CERTIFICATE-----)',
      );
    }
    return pem.endsWith('\n') ? pem : `${pem}\n`;
  });
  if (tls.pinnedPublicKeys !== undefined && !Array.isArray(tls.pinnedPublicKeys)) {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, 'tls.pinnedPublicKeys must be an array');
  }
  const pins = (tls.pinnedPublicKeys ?? []).map((pin) => {
    if (typeof pin !== 'string') throw typeError(ErrorCodes.INVALID_ARGUMENT, 'tls.pinnedPublicKeys must be strings');
    // One "sha256/" prefix only: base64 itself may begin with "/".
    const bare = pin.startsWith('sha256/') ? pin.slice(7) : pin;
    if (!/^[A-Za-z0-9+/]{43}=$/.test(bare)) {
      throw typeError(
        ErrorCodes.INVALID_ARGUMENT,
        `tls.pinnedPublicKeys: ${JSON.stringify(pin)} is not a base64 sha256 digest`,
      );
    }
    return bare;
  });
  return { ca: pems.join(''), pinnedPublicKeys: pins };
}
