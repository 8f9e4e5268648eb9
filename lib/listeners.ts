// Calling user code from the library: every listener of an event runs even when one throws,
// and each throw surfaces as its own 'uncaughtException' on the next tick (as a throw from any
// other callback would), never inside the engine's callback and never lost. JS thread only.
import type { EventEmitter } from 'node:events';

export function rethrowLater(error: unknown): void {
  process.nextTick(() => {
    throw error;
  });
}

/** Runs library-side code that calls user code; a throw is rethrown on the next tick. */
export function runListener(call: () => void): void {
  try {
    call();
  } catch (error) {
    rethrowLater(error);
  }
}

/**
 * EventEmitter.emit stops at the first listener that throws; this calls each one. rawListeners
 * keeps once() wrappers, which remove themselves when called, as emit would have them do.
 * 'error' keeps emit's meaning (a throw without listeners), so it goes through emit.
 */
export function emitToEach(emitter: EventEmitter, name: string, ...args: unknown[]): void {
  if (name === 'error') return runListener(() => emitter.emit(name, ...args));
  for (const listener of emitter.rawListeners(name)) {
    runListener(() => (listener as (...a: unknown[]) => void).apply(emitter, args));
  }
}
