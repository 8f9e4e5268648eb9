// Turns the bodies users pass into what the engine takes: bytes in memory or a file path.
import { types } from 'node:util';
import * as path from 'node:path';
import { ErrorCodes, typeError } from './errors';
import { FileBlob } from './file-blob';
import { isBodyStream, RequestBodyPump } from './request-body-stream';
import { isPlainObject } from './validate';

export interface EngineBody {
  body?: Buffer;
  bodyPath?: string;
  /** A body streamed from JS while the task runs (lib/request-body-stream.ts). */
  stream?: RequestBodyPump;
  /** Content-Type implied by the body (JSON for plain objects), unless the caller set one. */
  impliedContentType?: string;
}

/** A Blob's bytes arrive asynchronously; everything else is ready at once. */
export type PreparedBody = EngineBody | Promise<EngineBody>;

function fromBytes(data: Uint8Array): EngineBody {
  return { body: Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
}

function fromBlob(blob: Blob): PreparedBody {
  // A whole file's Blob of ours (a download's data, the CLI's @file) is sent from disk, as a
  // path is: never read whole into memory, and right past 4 GiB.
  const file = FileBlob.wholeFile(blob);
  if (file !== undefined) return { bodyPath: file, impliedContentType: blob.type || undefined };
  return blob.arrayBuffer().then((bytes) => ({
    body: Buffer.from(bytes),
    impliedContentType: blob.type || undefined,
  }));
}

/** uploadTask's data: bytes, a Blob, or a path (a string is always a file path, streamed from disk). */
export function prepareUploadBody(data: unknown): PreparedBody {
  if (typeof data === 'string') {
    if (data.length === 0 || data.includes('\0')) {
      throw typeError(ErrorCodes.INVALID_ARGUMENT, 'uploadTask: data path must be a non-empty string without NUL');
    }
    return { bodyPath: path.resolve(data) };
  }
  if (types.isUint8Array(data)) return fromBytes(data);
  if (data instanceof Blob) return fromBlob(data);
  if (isBodyStream(data)) return { stream: new RequestBodyPump(data) };
  throw typeError(
    ErrorCodes.INVALID_ARGUMENT,
    'uploadTask: data must be a Buffer, Uint8Array, Blob, ReadableStream, Readable or the path of a file',
  );
}

/** dataTask's data: a plain object or array is sent as JSON (as Titanium does); text and bytes as they are. */
export function prepareDataBody(data: unknown): PreparedBody | undefined {
  if (data === undefined) return undefined;
  if (typeof data === 'string')
    return { body: Buffer.from(data, 'utf8'), impliedContentType: 'text/plain; charset=utf-8' };
  if (types.isUint8Array(data)) return fromBytes(data);
  if (data instanceof Blob) return fromBlob(data);
  if (isBodyStream(data)) return { stream: new RequestBodyPump(data) };
  if (isPlainObject(data) || Array.isArray(data)) {
    let json: string;
    try {
      json = JSON.stringify(data);
    } catch (error) {
      // A cycle or a BigInt: JSON.stringify's plain TypeError, given our code.
      throw typeError(ErrorCodes.INVALID_ARGUMENT, `the body cannot be sent as JSON (${(error as Error).message})`);
    }
    return { body: Buffer.from(json, 'utf8'), impliedContentType: 'application/json' };
  }
  throw typeError(
    ErrorCodes.INVALID_ARGUMENT,
    'dataTask: data must be a plain object, an array, a string, a Buffer, a Uint8Array, a Blob, a ReadableStream or a Readable',
  );
}
