// Resume data: an opaque, versioned, engine-portable blob (JSON inside a Buffer). It names the
// partial file kept on disk (path and identity), how many bytes it holds and the validator
// (strong ETag or Last-Modified; Last-Modified for a content-encoded body, whose bytes are kept
// decoded: native/core/download_writer.cc) that makes the server's If-Range check safe, and for
// a segmented download its plan (which bytes past the gapless prefix are there too), trusted
// only while the file on disk fits it.
// The blob is authenticated: an HMAC-SHA256 with a key private to this user, so a blob that
// names any other file (a crafted one, handed to download({ resumeData }) or
// discardResumeData()) is refused before anything touches the disk; and even a genuine blob's
// file is used only while it is still that partial file of ours (lib/partial-files.ts).
// JS thread only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, typeError } from './errors';
import type { NativeTaskRequest } from './native';
import { PARTIAL_FILE_NAME, removeOwnPartial } from './partial-files';
import { contiguousPrefix, parseSegmentPlan, type PlannedSegment } from './segment-plan';
import { userCacheRoot } from './user-folders';

const FORMAT = 'urlsession-resume';
const VERSION = 3;
/** Blobs from before the segment plan: still read, as blobs without a plan. */
const PLANLESS_VERSION = 2;
const KEY_BYTES = 32;

export interface ResumeState {
  url: string;
  partialPath: string;
  /** "device:inode:birthNs" of the partial file (lib/partial-files.ts). */
  partialIdentity: string;
  offset: number;
  validator: string;
  /** Where the finished file goes: a file path, or a folder to name it in. */
  destinationDirectory: string;
  destinationFileName: string;
  nameFromResponse: boolean;
  overwrite: boolean;
  /** A segmented download's plan (lib/segment-plan.ts); '' when there is none. */
  segmentPlan: string;
}

let key: Buffer | undefined;

/**
 * This user's resume-data key: `<cache root>/resume-data.key` (0600 in a 0700 folder), made once
 * by whichever process needs it first (written under a temporary name, then linked into place,
 * so nobody reads half a key). Where it cannot be kept (no writable home), a key for this
 * process alone: resume data then works until the process exits.
 */
function resumeKey(): Buffer {
  if (key !== undefined) return key;
  key = loadOrCreateKey() ?? randomBytes(KEY_BYTES);
  return key;
}

function loadOrCreateKey(): Buffer | undefined {
  const root = userCacheRoot();
  const file = path.join(root, 'resume-data.key');
  try {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    const existing = readKey(file);
    if (existing !== undefined) return existing;
    const temp = path.join(root, `.resume-data.key.${randomBytes(8).toString('hex')}`);
    const fd = fs.openSync(
      temp,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
      0o600,
    );
    try {
      fs.writeSync(fd, randomBytes(KEY_BYTES));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      fs.rmSync(temp, { force: true });
    }
    return readKey(file);
  } catch {
    return undefined;
  }
}

// Only a regular 0600 file of ours of the right size; never through a link, never a FIFO.
function readKey(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stats = fs.fstatSync(fd);
    const ours = typeof process.geteuid !== 'function' || stats.uid === process.geteuid();
    if (!stats.isFile() || !ours || (stats.mode & 0o077) !== 0 || stats.size !== KEY_BYTES) {
      throw new Error(`${file} is not a private key file of this user`);
    }
    const bytes = Buffer.alloc(KEY_BYTES);
    if (fs.readSync(fd, bytes, 0, KEY_BYTES, 0) !== KEY_BYTES) throw new Error(`${file} is short`);
    return bytes;
  } finally {
    fs.closeSync(fd);
  }
}

// Every field of resume data and the type it must have, in one fixed order: what the HMAC covers
// (a planless blob's, all but the last).
const FIELD_TYPES = {
  url: 'string',
  partialPath: 'string',
  partialIdentity: 'string',
  offset: 'number',
  validator: 'string',
  destinationDirectory: 'string',
  destinationFileName: 'string',
  nameFromResponse: 'boolean',
  overwrite: 'boolean',
  segmentPlan: 'string',
} as const satisfies Record<keyof ResumeState, 'string' | 'number' | 'boolean'>;
const FIELDS = Object.keys(FIELD_TYPES) as (keyof ResumeState)[];
const PLANLESS_FIELDS = FIELDS.filter((field) => field !== 'segmentPlan');

function mac(state: ResumeState, fields: (keyof ResumeState)[]): Buffer {
  const canonical = JSON.stringify(fields.map((field) => state[field]));
  return createHmac('sha256', resumeKey()).update(canonical).digest();
}

export function encodeResumeData(state: ResumeState): Buffer {
  return Buffer.from(
    JSON.stringify({ format: FORMAT, version: VERSION, ...state, mac: mac(state, FIELDS).toString('base64') }),
    'utf8',
  );
}

function refuse(message: string): never {
  throw typeError(ErrorCodes.INVALID_RESUME_DATA, message);
}

export function decodeResumeData(data: unknown): ResumeState {
  if (!(data instanceof Uint8Array)) {
    throw typeError(
      ErrorCodes.INVALID_ARGUMENT,
      'resumeData must be the Buffer a cancelled or failed download produced',
    );
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>;
  } catch {
    refuse('resumeData is not urlsession resume data');
  }
  if (
    parsed === null ||
    typeof parsed !== 'object' ||
    parsed.format !== FORMAT ||
    (parsed.version !== VERSION && parsed.version !== PLANLESS_VERSION)
  ) {
    refuse(
      `resumeData has an unknown format or version (${String((parsed as { version?: unknown } | null)?.version)})`,
    );
  }
  const fields = parsed.version === VERSION ? FIELDS : PLANLESS_FIELDS;
  const damaged = fields.some((field) => typeof parsed[field] !== FIELD_TYPES[field]);
  if (
    damaged ||
    !Number.isSafeInteger(parsed.offset) ||
    (parsed.offset as number) < 0 ||
    typeof parsed.mac !== 'string'
  ) {
    refuse('resumeData is damaged');
  }
  const state = {
    segmentPlan: '',
    ...Object.fromEntries(fields.map((field) => [field, parsed[field]])),
  } as unknown as ResumeState;
  const { partialPath, partialIdentity, destinationDirectory } = state;
  const given = Buffer.from(parsed.mac, 'base64');
  const expected = mac(state, fields);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    refuse('resumeData was not made by urlsession for this user (its signature does not match)');
  }
  // A genuine blob still names only one of our hidden partial files inside its destination folder.
  if (
    !path.isAbsolute(partialPath) ||
    path.dirname(partialPath) !== path.resolve(destinationDirectory) ||
    !PARTIAL_FILE_NAME.test(path.basename(partialPath)) ||
    !/^\d+:\d+:\d+$/.test(partialIdentity)
  ) {
    refuse('resumeData names a file that is not a partial download in its destination folder');
  }
  // A plan that does not parse is dropped, never trusted: the bytes up to offset still resume.
  if (parseSegmentPlan(state.segmentPlan) === undefined) state.segmentPlan = '';
  return state;
}

/**
 * What the engine's request needs to continue the partial file (an own partial file: see
 * lib/requests.ts usableResume), `sizeOnDisk` its size now. A plan goes along only while the file
 * fits it: a validator for If-Range, something left to fetch, the blob's offset its gapless
 * prefix, every written segment's bytes within the file and the file within the plan. Then the
 * engine keeps the whole file (resumeOffset is its size; it truncates to resumeOffset) and
 * continues every unfinished segment from its own offset. Otherwise the plan is dropped and the
 * file continues from offset in one request, as a planless blob does.
 */
export function resumeFields(
  state: ResumeState,
  sizeOnDisk: number,
): Pick<
  NativeTaskRequest,
  'resumePartialPath' | 'resumeIdentity' | 'resumeOffset' | 'resumeValidator' | 'resumeSegments'
> {
  const base = {
    resumePartialPath: state.partialPath,
    resumeIdentity: state.partialIdentity,
    resumeOffset: state.offset,
    resumeValidator: state.validator,
  };
  const plan = parseSegmentPlan(state.segmentPlan);
  const fits =
    plan !== undefined &&
    state.validator !== '' &&
    plan.some((segment) => segment.next < segment.end) &&
    contiguousPrefix(plan) === state.offset &&
    plan.every((segment) => segment.next === segment.start || segment.next <= sizeOnDisk) &&
    sizeOnDisk <= (plan.at(-1) as PlannedSegment).end;
  if (!fits) return base;
  return { ...base, resumeOffset: sizeOnDisk, resumeSegments: state.segmentPlan };
}

/** Removes the partial file behind resume data that will not be used (only while it is still that file). */
export function discardResumeData(data: Buffer): void {
  const state = decodeResumeData(data);
  removeOwnPartial(state.partialPath, state.partialIdentity);
}
