// A request body streamed from JS while the task runs (fetch's ReadableStream with duplex:
// 'half', request({ body: stream }), upload(url, stream)): pulls the caller's stream only while
// the engine's queue wants more (native writeBody says so, else the task's BodyWanted event),
// so memory stays bounded whatever the stream's size. JS thread only.
import { Readable } from 'node:stream';
import { types } from 'node:util';

/** What a streamed body may be: a web ReadableStream, or any async iterable of bytes (a Node Readable). */
export type BodyStreamSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** native writeBody's `end` argument (core/body_stream.h BodyStreamEnd). */
export const BodyEnd = { None: 0, Ended: 1, Failed: 2 } as const;

/** The engine's writeBody for one task: true when it wants more at once. */
export type WriteBody = (chunk: Buffer | null, end: (typeof BodyEnd)[keyof typeof BodyEnd]) => boolean;

/** next() and cancel of either kind of source. */
interface Pull {
  next(): Promise<{ done?: boolean; value?: unknown }>;
  cancel(): Promise<unknown>;
}

// A ReadableStream through its own reader: cancel() also ends a read still waiting (an async
// iterator's return() would wait for it).
function pullOf(source: BodyStreamSource): Pull {
  if (source instanceof ReadableStream) {
    const reader = source.getReader();
    return { next: () => reader.read(), cancel: () => reader.cancel() };
  }
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  return { next: () => iterator.next(), cancel: async () => iterator.return?.() };
}

/** A streamed request body: a ReadableStream or a Node Readable (anything async-iterable that is not bytes or text). */
export function isBodyStream(value: unknown): value is BodyStreamSource {
  if (value instanceof ReadableStream || value instanceof Readable) return true;
  return (
    typeof value === 'object' &&
    value !== null &&
    !types.isUint8Array(value) &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

/** Pulls one task's body into the engine. start() once the engine has the task; stop() when it ends. */
export class RequestBodyPump {
  readonly #source: BodyStreamSource;
  #write: WriteBody | undefined;
  #pull: Pull | undefined;
  #wanted: (() => void) | undefined;
  #stopped = false;
  /** Bytes taken from the caller's stream so far. */
  pulled = 0;
  /** The caller's stream failed (or gave something that is not bytes): why, for the task's error. */
  failure: unknown;

  constructor(source: BodyStreamSource) {
    this.#source = source;
  }

  start(write: WriteBody): void {
    if (this.#write !== undefined || this.#stopped) return;
    this.#write = write;
    void this.#run();
  }

  /** The task's BodyWanted event: the engine's queue has room again. */
  wanted(): void {
    const resume = this.#wanted;
    this.#wanted = undefined;
    resume?.();
  }

  /** The task ended (or never starts): the caller's stream is cancelled if it was not read to its end. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.wanted();
    // Cancels a ReadableStream (and destroys a Node Readable); a rejection is the stream's own
    // business, already settled for the task.
    this.#cancel();
  }

  #cancel(): void {
    try {
      this.#pull ??= pullOf(this.#source);
    } catch {
      return; // a stream locked by someone else: not ours to cancel
    }
    this.#pull.cancel().catch(() => undefined);
  }

  async #run(): Promise<void> {
    const write = this.#write as WriteBody;
    try {
      this.#pull = pullOf(this.#source);
      const pull = this.#pull;
      for (;;) {
        const next = await pull.next();
        if (this.#stopped) return;
        if (next.done === true) {
          write(null, BodyEnd.Ended);
          return;
        }
        const value = next.value;
        if (!types.isUint8Array(value)) {
          throw new TypeError(`a streamed request body must yield Uint8Array chunks, got ${typeof value}`);
        }
        this.pulled += value.byteLength;
        const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
        if (!write(chunk, BodyEnd.None)) await new Promise<void>((resolve) => (this.#wanted = resolve));
        if (this.#stopped) return;
      }
    } catch (error) {
      if (this.#stopped) return;
      this.failure = error;
      write(null, BodyEnd.Failed);
      this.#cancel();
    }
  }
}
