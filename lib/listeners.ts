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

/**
 * One event to a session and to the module-wide hub (Titanium's Ti.App.iOS), with the same
 * object. `event` may be a function building the payload: it runs only when someone listens, so
 * tasks nobody watches through Titanium's events do not pay for payloads (a data task's
 * responseText decodes its whole body).
 */
export class Fanout {
  readonly #primary: EventEmitter;
  readonly #hub: EventEmitter;

  constructor(primary: EventEmitter, hub: EventEmitter) {
    this.#primary = primary;
    this.#hub = hub;
  }

  has(name: string): boolean {
    return this.#primary.listenerCount(name) > 0 || this.#hub.listenerCount(name) > 0;
  }

  emit<T>(name: string, event: T | (() => T)): void {
    let payload: T;
    if (typeof event === 'function') {
      if (!this.has(name)) return;
      // Building a payload can throw (a responseText longer than V8's longest string): that
      // becomes an uncaughtException like a throwing listener, and the batch goes on.
      try {
        payload = (event as () => T)();
      } catch (error) {
        rethrowLater(error);
        return;
      }
    } else {
      payload = event;
    }
    emitToEach(this.#primary, name, payload);
    emitToEach(this.#hub, name, payload);
  }
}
