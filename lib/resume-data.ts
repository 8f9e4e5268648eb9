// Resume data: an opaque, versioned, engine-portable blob (JSON inside a Buffer). It names the
// partial file kept on disk, how many bytes it holds and the validator (strong ETag or
// Last-Modified) that makes the server's If-Range check safe.
import * as fs from 'node:fs';
import { ErrorCodes, typeError } from './errors';

const FORMAT = 'urlsession-resume';
const VERSION = 1;

export interface ResumeState {
  url: string;
  partialPath: string;
  offset: number;
  validator: string;
  /** Where the finished file goes: a file path, or a folder to name it in. */
  destinationDirectory: string;
  destinationFileName: string;
  nameFromResponse: boolean;
  overwrite: boolean;
}

export function encodeResumeData(state: ResumeState): Buffer {
  return Buffer.from(JSON.stringify({ format: FORMAT, version: VERSION, ...state }), 'utf8');
}

export function decodeResumeData(data: unknown): ResumeState {
  if (!(data instanceof Uint8Array)) {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, 'resumeData must be the Buffer a cancelled or failed download produced');
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, 'resumeData is not urlsession resume data');
  }
  if (parsed.format !== FORMAT || parsed.version !== VERSION) {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, `resumeData has an unknown format or version (${String(parsed.version)})`);
  }
  const { url, partialPath, offset, validator, destinationDirectory, destinationFileName } = parsed;
  if (typeof url !== 'string' || typeof partialPath !== 'string' || typeof offset !== 'number' ||
      typeof validator !== 'string' || typeof destinationDirectory !== 'string' || typeof destinationFileName !== 'string') {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, 'resumeData is damaged');
  }
  return {
    url, partialPath, offset, validator, destinationDirectory, destinationFileName,
    nameFromResponse: parsed.nameFromResponse === true,
    overwrite: parsed.overwrite === true,
  };
}

/** Removes the partial file behind resume data that will not be used. */
export function discardResumeData(data: Buffer): void {
  const state = decodeResumeData(data);
  fs.rmSync(state.partialPath, { force: true });
}
