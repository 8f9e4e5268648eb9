// What a new Session stands on, made in the one safe order: the state folder's lock (before any
// engine exists, in every mode), the native engine session, then either our journal (emulated
// background: persistent sessions everywhere but a bundled macOS app) or, for an OS background
// session, the lock alone plus the task counter. Anything that fails undoes what was made before
// it and throws a coded error. JS thread only.
import { binding } from './binding';
import type { SessionConfiguration } from './configuration';
import { ErrorCodes, typeError } from './errors';
import type { JournalWarning } from './journal';
import type { NativeSession } from './native';
import { SessionPersistence } from './persistence';
import { lockStateDirectory, StateDirectoryError } from './state-directory';
import { TaskCounter } from './task-counter';

/** The most redirects NSURLSession follows (CFNetwork's own limit). */
export const APPLE_MAXIMUM_REDIRECTS = 20;

export interface SessionParts {
  native: NativeSession;
  /** Emulated background: the journal (it owns the lock). */
  persistence?: SessionPersistence;
  /** OS background session: the state folder's lock, held until 'invalidated'. */
  systemLock?: number;
  /** OS background session: the identifiers given out by earlier processes. */
  counter?: TaskCounter;
  /** The first task identifier this process gives out. */
  nextTaskIdentifier: number;
}

/**
 * `onEvents` receives the engine's batches (the bridge's callback); `onWarning` hears of failed
 * writes into the state folder, already deferred past the caller's stack.
 */
export function openSessionParts(
  configuration: SessionConfiguration,
  onEvents: ConstructorParameters<typeof binding.NativeSession>[1],
  onWarning: (warning: JournalWarning) => void,
): SessionParts {
  // CFNetwork stops after 20 redirects whatever the delegate says: a larger limit would be a
  // promise the Apple engine cannot keep (the curl engine can, and keeps it).
  if (binding.engine === 'apple' && configuration.maximumRedirects > APPLE_MAXIMUM_REDIRECTS) {
    throw typeError(
      ErrorCodes.INVALID_ARGUMENT,
      `maximumRedirects above ${APPLE_MAXIMUM_REDIRECTS} cannot be honoured by NSURLSession (macOS)`,
    );
  }
  const stateDirectory = configuration.persistent ? configuration.stateDirectory : undefined;
  // Own the state folder before any engine exists (lock, owner and mode checks), in every mode:
  // the curl engine keeps its cookie jar there, and two processes must not both create the
  // NSURLSession of one background identifier either.
  let lockFd: number | undefined;
  if (stateDirectory !== undefined) {
    try {
      lockFd = lockStateDirectory(stateDirectory);
    } catch (error) {
      if (error instanceof StateDirectoryError) throw withStack(error);
      throw error;
    }
  }
  let native: NativeSession;
  try {
    native = new binding.NativeSession(configuration.toNative(), onEvents);
  } catch (error) {
    if (lockFd !== undefined) binding.unlockFile(lockFd);
    throw error;
  }
  // With an OS background session (macOS, bundled app) nsurlsessiond keeps the work and the
  // session only holds the lock; our journal is the fallback everywhere else.
  if (stateDirectory !== undefined && !native.usesSystemBackground) {
    let persistence: SessionPersistence;
    try {
      persistence = new SessionPersistence(stateDirectory, onWarning, lockFd);
    } catch (error) {
      native.close();
      if (error instanceof StateDirectoryError) throw withStack(error);
      throw error;
    }
    return { native, persistence, nextTaskIdentifier: Math.max(1, persistence.nextTaskIdentifier) };
  }
  if (native.usesSystemBackground && configuration.stateDirectory !== undefined) {
    let counter: TaskCounter;
    try {
      counter = new TaskCounter(configuration.stateDirectory);
    } catch (error) {
      native.close();
      if (lockFd !== undefined) binding.unlockFile(lockFd);
      throw withStack(
        new StateDirectoryError(
          ErrorCodes.STATE_DIRECTORY,
          `cannot keep task identifiers in ${configuration.stateDirectory}: ${(error as Error).message}`,
        ),
      );
    }
    return { native, systemLock: lockFd, counter, nextTaskIdentifier: counter.first };
  }
  return { native, systemLock: lockFd, nextTaskIdentifier: 1 };
}

// The error was made deep inside the journal; point its stack at the caller's createSession.
function withStack<E extends Error>(error: E): E {
  Error.captureStackTrace(error, withStack);
  return error;
}
