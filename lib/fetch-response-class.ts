// The Response fetch() resolves with: a subclass of Node's own Response (so `instanceof
// Response` holds and every method Node offers is there) that carries what Node's fetch sets on
// its responses and a constructed Response cannot have: `url`, `redirected`, `type: 'basic'`,
// immutable headers, the task's metrics, and a clone() that keeps them. A body that had arrived
// whole before fetch() resolved is held as its bytes: arrayBuffer(), text() and json() read them
// directly, and the ReadableStream of `body` (and blob(), formData()) is made only when asked for,
// by a Response of Node's over those bytes. Why: making a web ReadableStream and reading it back
// is most of the cost of a small fetch (bench/ANALYSIS.md, "fetch()'s own layer"). JS thread only.
import { ErrorCodes, typeError } from './errors';
import type { TaskMetrics } from './task-types';

// Node's Headers and Response as base classes, typed without the members the subclasses
// override: their declared types (undici-types) list those as properties, which TypeScript does
// not let an accessor or a method override. Node's own versions are then called through the
// prototypes (nodeGetter, *.prototype.*.call) instead of `super`.
type HeadersBase = Omit<Headers, 'append' | 'set' | 'delete'>;
type Overridden = 'type' | 'url' | 'redirected' | 'headers' | 'body' | 'bodyUsed';
type Readers = 'clone' | 'arrayBuffer' | 'text' | 'json' | 'blob' | 'formData';
type ResponseBase = Omit<Response, Overridden | Readers>;
/** What a fetch() Response says about its request besides status and headers. */
export interface ResponseFacts {
  status: number;
  statusText: string;
  headers: Headers;
  url: string;
  redirected: boolean;
  metrics: Promise<TaskMetrics>;
}

/** Node's message for a body read twice (undici's consumeBody). */
const BODY_USED = 'Body is unusable: Body has already been read';

let defined: ReturnType<typeof defineClasses> | undefined;

/**
 * The classes, made at the first fetch(): Node loads its Response and Headers (its bundled
 * undici) only when they are first touched, which costs every importer of this library start-up
 * time and memory it may never need.
 */
export function responseClasses(): ReturnType<typeof defineClasses> {
  return (defined ??= defineClasses());
}

/**
 * The task's metrics (lib/task-types.ts TaskMetrics: dnsMs, connectMs, firstByteMs, totalMs,
 * redirectCount, ...) for a Response of fetch(), once its body has been read to the end.
 * Rejects as the body does when the transfer fails. A TypeError for any other Response.
 */
export function metricsOf(response: Response): Promise<TaskMetrics> {
  const metrics =
    typeof response === 'object' && response !== null ? defined?.FetchResponse.metricsOf(response) : undefined;
  if (metrics === undefined) {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, 'metricsOf(response): response must come from urlsession fetch()');
  }
  return metrics;
}

function defineClasses() {
  const NodeHeaders = Headers as unknown as new () => HeadersBase;
  const NodeResponse = Response as unknown as new (
    body: ReadableStream<Uint8Array> | Uint8Array | null,
    init: ResponseInit,
  ) => ResponseBase;
  const nodeResponse = Response.prototype;
  const nodeHeaders = Headers.prototype;

  /** Node's getter `name` of Response, on `response`. */
  function nodeGetter<K extends 'body' | 'bodyUsed'>(response: object, name: K): Response[K] {
    return Reflect.get(nodeResponse, name, response) as Response[K];
  }

  /** Headers a caller can read but not change, as Node's fetch gives them ('immutable' guard). */
  class ResponseHeaders extends NodeHeaders {
    #sealed = false;

    /** `pairs`: name, value, name, value, … appended in order. */
    constructor(pairs: readonly string[]) {
      super();
      for (let i = 0; i < pairs.length; i += 2) nodeHeaders.append.call(this, pairs[i], pairs[i + 1]);
      this.#sealed = true;
    }

    append(name: string, value: string): void {
      if (this.#sealed) throw new TypeError('immutable');
      nodeHeaders.append.call(this, name, value);
    }

    set(name: string, value: string): void {
      if (this.#sealed) throw new TypeError('immutable');
      nodeHeaders.set.call(this, name, value);
    }

    delete(name: string): void {
      if (this.#sealed) throw new TypeError('immutable');
      nodeHeaders.delete.call(this, name);
    }
  }

  class FetchResponse extends NodeResponse {
    readonly #facts: ResponseFacts;
    /** The whole body while it is held (neither read nor handed to a Response of Node's). */
    #held: Uint8Array | undefined;
    /** Node's Response over the held bytes, once `body`, blob() or formData() asked for it. */
    #over: Response | undefined;
    /** A held body was read by arrayBuffer(), text() or json(). */
    #read = false;

    /** `body`: the held bytes (`held`), else Node's Response owns it (a stream, or null). */
    constructor(body: ReadableStream<Uint8Array> | Uint8Array | null, held: boolean, facts: ResponseFacts) {
      // A body Node's Response owns is read by Node's readers, which take a Blob's type and the
      // form encoding from its own headers: they get the same ones.
      super(held ? null : body, {
        status: facts.status,
        statusText: facts.statusText,
        ...(held ? {} : { headers: facts.headers }),
      });
      this.#facts = facts;
      if (held) this.#held = body as Uint8Array;
    }

    /** The task's metrics of a Response of fetch() (URLSession.metricsOf), else undefined. */
    static metricsOf(response: Response): Promise<TaskMetrics> | undefined {
      return #facts in response ? (response as FetchResponse).#facts.metrics : undefined;
    }

    get url(): string {
      return this.#facts.url;
    }

    get redirected(): boolean {
      return this.#facts.redirected;
    }

    get type(): Response['type'] {
      return 'basic';
    }

    get headers(): Headers {
      return this.#facts.headers;
    }

    get body(): ReadableStream<Uint8Array> | null {
      return this.#held === undefined ? nodeGetter(this, 'body') : this.#overHeld().body;
    }

    get bodyUsed(): boolean {
      if (this.#held === undefined) return nodeGetter(this, 'bodyUsed');
      return this.#over === undefined ? this.#read : this.#over.bodyUsed;
    }

    arrayBuffer(): Promise<ArrayBuffer> {
      if (this.#held === undefined) return nodeResponse.arrayBuffer.call(this);
      if (this.#over !== undefined) return this.#over.arrayBuffer();
      return this.#take((bytes) => bytes.slice().buffer);
    }

    text(): Promise<string> {
      if (this.#held === undefined) return nodeResponse.text.call(this);
      if (this.#over !== undefined) return this.#over.text();
      // UTF-8 with a leading BOM dropped and bad sequences replaced: the Fetch standard's
      // "UTF-8 decode", as Node's text() does.
      return this.#take((bytes) => new TextDecoder().decode(bytes));
    }

    json(): Promise<unknown> {
      if (this.#held === undefined) return nodeResponse.json.call(this);
      if (this.#over !== undefined) return this.#over.json();
      return this.#take((bytes) => JSON.parse(new TextDecoder().decode(bytes)) as unknown);
    }

    blob(): Promise<Blob> {
      return this.#held === undefined ? nodeResponse.blob.call(this) : this.#overHeld().blob();
    }

    formData(): Promise<FormData> {
      return this.#held === undefined ? nodeResponse.formData.call(this) : this.#overHeld().formData();
    }

    clone(): Response {
      if (this.#held === undefined) {
        // Node's clone tees the body: this response keeps one branch, the copy's carries the other.
        const copy = nodeResponse.clone.call(this);
        return new FetchResponse(copy.body, false, this.#facts);
      }
      if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
      if (this.#over !== undefined) return new FetchResponse(this.#over.clone().body, false, this.#facts);
      return new FetchResponse(this.#held.slice(), true, this.#facts);
    }

    // Reads the held body once: a second read rejects as Node's does.
    #take<T>(read: (bytes: Uint8Array) => T): Promise<T> {
      if (this.#read) return Promise.reject(new TypeError(BODY_USED));
      this.#read = true;
      try {
        return Promise.resolve(read(this.#held as Uint8Array));
      } catch (error) {
        return Promise.reject(error);
      }
    }

    // Node's Response over the held bytes, for the readers it alone implements (the stream, the
    // Blob's MIME type, multipart parsing). A body already read gives one that is used too.
    #overHeld(): Response {
      if (this.#over === undefined) {
        this.#over = new Response(this.#held as Uint8Array, { headers: this.#facts.headers });
        if (this.#read) void this.#over.arrayBuffer();
      }
      return this.#over;
    }
  }

  // Response.prototype.bytes (Node 22 and later, and Node 20's Response too) reads as arrayBuffer
  // does, as a Uint8Array.
  Object.defineProperty(FetchResponse.prototype, 'bytes', {
    value: async function bytes(this: Response): Promise<Uint8Array> {
      return new Uint8Array(await this.arrayBuffer());
    },
    writable: true,
    configurable: true,
  });
  return { FetchResponse, ResponseHeaders };
}
