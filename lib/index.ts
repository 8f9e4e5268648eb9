// urlsession: the operating system's transfer engine for Node.js and Electron, behind
// Titanium's ti.urlsession API. This module object is also the module-wide event emitter
// (Titanium's Ti.App.iOS events): URLSession.on('downloadprogress', ...) hears every session.
// It is its own default export, so `import URLSession from 'urlsession'` is this object in
// CommonJS (esModuleInterop's `.default`) as in ESM (dist/index.mjs's default).
import { EventEmitter } from 'node:events';
import { binding } from './binding';
import { SessionConfiguration } from './configuration';
import { identifierBusyError, ErrorCodes, typeError } from './errors';
import type { FetchInit } from './fetch';
import { fetchLazily } from './fetch-lazy';
import { Session } from './session';
import type { SessionConfigurationOptions, URLSessionEventMap, URLSessionEventName } from './types';
import { expectOptionsObject, rejectUnknownKeys } from './validate';
import * as self from './index';

export type * from './types';
export { Session } from './session';
export type { SessionState, TaskInfo } from './session';
export { SessionConfiguration } from './configuration';
export { ErrorCodes, NSURLError } from './errors';
export { Task, HTTPError, TransferError, IntegrityError, AbortError } from './task';
export type {
  TaskState,
  TaskResponse,
  TaskMetrics,
  TaskProgress,
  TaskRetry,
  DownloadResult,
  RequestResult,
  StreamResult,
  StreamCompletion,
  TaskError,
  TaskEventMap,
} from './task-types';
export type { ResponseHeaders } from './headers';
export type { RetryOptions } from './retry';
export type { TaskOptions, DownloadOptions, UploadOptions, RequestOptions, CacheMode } from './task-options';
export { discardResumeData } from './resume-data';
export { metricsOf } from './fetch-response-class';
export type { FetchInit } from './fetch';
export {
  downloadTask,
  uploadTask,
  dataTask,
  finishTasksAndInvalidate,
  invalidateAndCancel,
  reset,
  flush,
  createURLSessionBackgroundConfiguration,
  backgroundDownloadTaskWithURL,
  addBackgroundDownloadTask,
  addBackgroundUploadTask,
} from './titanium-module';
export type { CodedError, ErrorCode } from './errors';

/** Which transfer engine this build drives: 'apple' (NSURLSession) or 'curl' (libcurl). */
export const engine: 'apple' | 'curl' = binding.engine;

const hub = new EventEmitter();
// Many sessions may each add a module-wide listener in apps that create sessions dynamically.
hub.setMaxListeners(0);

// Live sessions by identifier. They stay referenced (and usable) until invalidated, as the
// seed documents: an app that never invalidates a session keeps it.
const liveSessions = new Map<string, Session>();

/**
 * Creates a session configuration: from options, or from the identifier alone (the seed's
 * one-string form). `identifier` is creation-only; HTTPHeaderFields is writable until a session
 * is created with it.
 */
export function createSessionConfiguration(options: SessionConfigurationOptions | string = {}): SessionConfiguration {
  return new SessionConfiguration(options);
}

/**
 * Creates a session, or returns the live session that already has this configuration's
 * identifier (as Titanium does).
 */
export function createURLSession(configuration: SessionConfiguration): Session {
  if (!(configuration instanceof SessionConfiguration)) {
    throw typeError(
      ErrorCodes.INVALID_ARGUMENT,
      'createURLSession(configuration): configuration must come from createSessionConfiguration()',
    );
  }
  configuration.markUsed();
  const existing = liveSessions.get(configuration.identifier);
  if (existing !== undefined) {
    if (existing.state === 'active') return existing;
    throw identifierBusyError(configuration.identifier);
  }
  const session = Session.create(configuration, hub, (ended) => {
    if (liveSessions.get(ended.identifier) === ended) liveSessions.delete(ended.identifier);
  });
  liveSessions.set(configuration.identifier, session);
  return session;
}

/**
 * Same as createURLSession: createSession({ configuration }), or createSession(configuration)
 * (Titanium's one-argument form before 2.1.0).
 */
export function createSession(options: { configuration: SessionConfiguration } | SessionConfiguration): Session {
  if (options instanceof SessionConfiguration) return createURLSession(options);
  const o = expectOptionsObject(options, 'createSession(options)');
  rejectUnknownKeys(o, ['configuration'], 'createSession');
  return createURLSession(o.configuration as SessionConfiguration);
}

// fetch()'s session, made at the first URLSession.fetch: not persistent, and (as every session)
// it holds the event loop only while a transfer is outstanding, so it never keeps a process alive.
let fetchSession: Session | undefined;

/** The standard fetch(input, init) over a default session of this module's; see Session.fetch. */
export function fetch(input: string | URL | Request, init?: FetchInit): Promise<Response> {
  if (fetchSession?.state !== 'active') fetchSession = createURLSession(new SessionConfiguration({}));
  return fetchLazily(fetchSession, input, init);
}

type Listener<K extends URLSessionEventName> = (event: URLSessionEventMap[K]) => void;

/** Listens to an event of every session. */
export function on<K extends URLSessionEventName>(event: K, listener: Listener<K>): void {
  hub.on(event, listener);
}
/** Listens once to an event of any session. */
export function once<K extends URLSessionEventName>(event: K, listener: Listener<K>): void {
  hub.once(event, listener);
}
/** Removes a module-wide listener. */
export function off<K extends URLSessionEventName>(event: K, listener: Listener<K>): void {
  hub.off(event, listener);
}
/** Titanium spelling of on(). */
export const addEventListener = on;
/** Titanium spelling of off(). */
export const removeEventListener = off;
/** Removes every module-wide listener of one event, or of all events. */
export function removeAllListeners(event?: URLSessionEventName): void {
  if (event === undefined) hub.removeAllListeners();
  else hub.removeAllListeners(event);
}

/** The module itself (see the top of this file). */
const URLSession: typeof self = self;
export default URLSession;
