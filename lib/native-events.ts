// Decodes one batch of engine events as native/bridge/event_to_js.cc encodes it: numbers in a
// Float64Array, text fields in one string (each ended by U+0000), non-empty bodies as
// ArrayBuffers. The field order of each event type below is EventBatchEncoder::EncodeEvent's; the
// two change together. Building the objects here, as literals of one shape per type, instead of
// property by property from C++, took 9% off the JS thread's CPU per small request
// (bench/ANALYSIS.md, (c)).
import type { NativeEvent, NativeEventType } from './native';
import { EventType } from './native-constants';

class BatchReader {
  #n = 0;
  #t = 0;
  #b = 0;
  readonly #texts: string[];

  constructor(
    readonly numbers: Float64Array,
    text: string,
    readonly bodies: ArrayBuffer[] | undefined,
  ) {
    this.#texts = text.split('\0');
  }

  more(): boolean {
    return this.#n < this.numbers.length;
  }
  number(): number {
    return this.numbers[this.#n++];
  }
  text(): string {
    return this.#texts[this.#t++];
  }
  body(): Buffer {
    const length = this.number();
    return length === 0 ? Buffer.alloc(0) : Buffer.from(this.bodies![this.#b++]);
  }
}

function decodeEvent(r: BatchReader): NativeEvent {
  const type = r.number() as NativeEventType;
  const taskIdentifier = r.number();
  switch (type) {
    case EventType.DownloadProgress:
    case EventType.UploadProgress:
      return { type, taskIdentifier, totalBytes: r.number(), expectedBytes: r.number() };
    case EventType.Response: {
      const statusCode = r.number();
      const expectedBytes = r.number();
      const count = r.number();
      const url = r.text();
      const headers = new Array<string>(count * 2);
      for (let i = 0; i < headers.length; i++) headers[i] = r.text();
      return { type, taskIdentifier, statusCode, expectedBytes, url, headers };
    }
    case EventType.DownloadCompleted:
      return { type, taskIdentifier, statusCode: r.number(), location: r.text() };
    case EventType.TaskCompleted: {
      const statusCode = r.number();
      const errorCode = r.number();
      const dnsMs = r.number();
      const connectMs = r.number();
      const tlsMs = r.number();
      const firstByteMs = r.number();
      const totalMs = r.number();
      const bytesSent = r.number();
      const bytesReceived = r.number();
      const redirectCount = r.number();
      const responseBody = r.body();
      const message = r.text();
      const url = r.text();
      const metrics = { dnsMs, connectMs, tlsMs, firstByteMs, totalMs, bytesSent, bytesReceived, redirectCount, protocol: r.text(), remoteAddress: r.text() };
      const partialBytes = r.number();
      const event: NativeEvent = { type, taskIdentifier, statusCode, errorCode, message, url, responseBody, metrics };
      if (partialBytes >= 0) {
        event.partialBytes = partialBytes;
        event.partialPath = r.text();
        event.validator = r.text();
        event.partialIdentity = r.text();
      }
      return event;
    }
    case EventType.ResetCompleted:
    case EventType.FlushCompleted:
      return { type, taskIdentifier, token: r.number() };
    case EventType.BodyData:
      return { type, taskIdentifier, chunk: r.body() };
    case EventType.TaskRecovered:
      return { type, taskIdentifier, kind: r.number() as 0 | 1 | 2, url: r.text(), taskDescription: r.text() };
    case EventType.SessionInvalidated:
    case EventType.BackgroundEventsDelivered:
      return { type, taskIdentifier };
    default:
      // A type this decoder does not know would misread every later field: fail loudly.
      throw new Error(`urlsession: unknown native event type ${String(type)}`);
  }
}

export function decodeEvents(numbers: Float64Array, text: string, bodies: ArrayBuffer[] | undefined): NativeEvent[] {
  const reader = new BatchReader(numbers, text, bodies);
  const events: NativeEvent[] = [];
  while (reader.more()) events.push(decodeEvent(reader));
  return events;
}
