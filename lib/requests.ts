// The arguments of every task-starting method, checked and turned into the engine's request:
// Titanium's downloadTask/uploadTask/dataTask and the promise API's download/upload/request.
// Throws the coded TypeError/RangeError of a bad argument before anything starts. Pure apart
// from resume data's lstat of its partial file; JS thread only.
import * as fs from 'node:fs';
import { prepareDataBody, prepareUploadBody, type EngineBody, type PreparedBody } from './body';
import { ErrorCodes, typeError } from './errors';
import type { BodyStreamSource } from './request-body-stream';
import type { NativeTaskRequest } from './native';
import { TaskKind } from './native-constants';
import { isOwnPartial } from './partial-files';
import { decodeResumeData, resumeFields, type ResumeState } from './resume-data';
import { parseSpeedLimit } from './speed-limit';
import type { TaskSetup } from './task';
import type { TaskKindName } from './task-table';
import {
  parseSegments,
  parseTaskOptions,
  resolveDestination,
  type DownloadOptions,
  type ParsedTaskOptions,
  type RequestOptions,
  type UploadOptions,
} from './task-options';
import type { DataTaskArguments, DownloadTaskArguments, UploadTaskArguments } from './types';
import {
  expectOptionsObject,
  rejectUnknownKeys,
  validateHeaders,
  validateMethod,
  validatePriority,
  validateUrl,
} from './validate';

/** A request without its identifier (the session gives that), its body, and how it is watched. */
export interface TaskRequest {
  kind: TaskKindName;
  request: Omit<NativeTaskRequest, 'taskIdentifier'>;
  body: PreparedBody;
  taskDescription: string;
  /** 0.0–1.0: the order among tasks waiting for the session's maximumConcurrentTasks. */
  priority: number;
}

/** What every Titanium task-starting call takes (not in Titanium: priority, maximumBytesPerSecond). */
const TITANIUM_COMMON = ['url', 'requestHeaders', 'taskDescription', 'priority', 'maximumBytesPerSecond'];

/** The arguments object of `call`, checked: its own keys are `more`, besides the common ones. */
function titaniumArguments(args: unknown, call: 'downloadTask' | 'uploadTask' | 'dataTask', more: string[]) {
  const o = expectOptionsObject(args, `${call}(arguments)`);
  rejectUnknownKeys(o, [...TITANIUM_COMMON, ...more], call);
  const url = validateUrl(o.url);
  return {
    o,
    url,
    headers: validateHeaders(o.requestHeaders, 'requestHeaders'),
    maximumBytesPerSecond: parseSpeedLimit(o.maximumBytesPerSecond, `${call}: maximumBytesPerSecond`),
    taskDescription: description(o.taskDescription),
    priority: validatePriority(o.priority),
  };
}

/** Titanium's downloadTask({ url, requestHeaders?, taskDescription?, segments? }). */
export function titaniumDownload(args: DownloadTaskArguments): TaskRequest {
  const { o, url, headers, maximumBytesPerSecond, taskDescription, priority } = titaniumArguments(
    args,
    'downloadTask',
    ['segments'],
  );
  const segments = parseSegments(o.segments, 'downloadTask: segments');
  // Named as download() names a folder destination: Content-Disposition, else the final URL.
  const request = {
    kind: TaskKind.Download,
    url,
    method: 'GET',
    headers,
    nameFromResponse: true,
    maximumBytesPerSecond,
    ...(segments === undefined ? {} : { segments }),
  };
  return { kind: 'download', request, body: {}, taskDescription, priority };
}

/** Titanium's uploadTask({ url, data, method = 'POST', requestHeaders?, taskDescription? }). */
export function titaniumUpload(args: UploadTaskArguments, maximumResponseSize: number): TaskRequest {
  const { o, url, headers, maximumBytesPerSecond, taskDescription, priority } = titaniumArguments(args, 'uploadTask', [
    'data',
    'method',
  ]);
  if (o.data === undefined || o.data === null) {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, 'uploadTask: data is required');
  }
  const method = validateMethod(o.method, 'POST');
  const request = { kind: TaskKind.Upload, url, method, headers, maximumResponseSize, maximumBytesPerSecond };
  const body = prepareUploadBody(o.data);
  withStreamedBody(request, body);
  return { kind: 'upload', request, body, taskDescription, priority };
}

/** Titanium's dataTask({ url, data?, method, requestHeaders?, taskDescription? }). */
export function titaniumData(args: DataTaskArguments, maximumResponseSize: number): TaskRequest {
  const { o, url, headers, maximumBytesPerSecond, taskDescription, priority } = titaniumArguments(args, 'dataTask', [
    'data',
    'method',
  ]);
  const body = prepareDataBody(o.data);
  const method = validateMethod(o.method, body === undefined ? 'GET' : 'POST');
  const request = { kind: TaskKind.Data, url, method, headers, maximumResponseSize, maximumBytesPerSecond };
  withStreamedBody(request, body);
  return { kind: 'data', request, body: body ?? {}, taskDescription, priority };
}

/** A promise-API request, with the options its Task needs. */
export interface PromiseRequest extends TaskRequest {
  options: ParsedTaskOptions;
  resumeTemplate?: TaskSetup['resumeTemplate'];
}

/** What every promise-API request carries from its options: the fields the engine reads alike. */
function fromOptions(parsed: ParsedTaskOptions) {
  return {
    headers: parsed.headers,
    timeout: parsed.timeout,
    maximumBytesPerSecond: parsed.maximumBytesPerSecond,
    ...(parsed.followRedirects ? {} : { manualRedirects: true }),
    ...(parsed.omitCredentials ? { omitCredentials: true } : {}),
    ...(parsed.cacheMode === undefined ? {} : { cacheMode: parsed.cacheMode }),
  };
}

/** The PromiseRequest of `request`: its kind, body and options, and what the launcher needs of them. */
function promiseRequest(
  kind: PromiseRequest['kind'],
  request: PromiseRequest['request'],
  body: PromiseRequest['body'],
  parsed: ParsedTaskOptions,
): PromiseRequest {
  return { kind, request, body, taskDescription: parsed.taskDescription, priority: parsed.priority, options: parsed };
}

/** download(url, options) or download({ resumeData, ... }). */
export function promiseDownload(
  urlOrOptions: string | (DownloadOptions & { resumeData: Buffer }),
  maybeOptions: DownloadOptions,
  downloadDirectory: string,
): PromiseRequest {
  const resumeOnly = typeof urlOrOptions !== 'string' && urlOrOptions !== null && typeof urlOrOptions === 'object';
  const rawOptions = resumeOnly ? urlOrOptions : maybeOptions;
  const parsed = parseTaskOptions('download', rawOptions);
  const resume = parsed.resumeData === undefined ? undefined : usableResume(decodeResumeData(parsed.resumeData));
  const url = validateUrl(resumeOnly ? resume?.url : urlOrOptions);
  const destination = resume ?? resolveDestination(parsed.destination, downloadDirectory, parsed.overwrite);
  const request: Omit<NativeTaskRequest, 'taskIdentifier'> = {
    kind: TaskKind.Download,
    url,
    method: parsed.method ?? 'GET',
    ...fromOptions(parsed),
    downloadDirectory: destination.destinationDirectory,
    downloadFileName: destination.destinationFileName,
    nameFromResponse: destination.nameFromResponse,
    overwrite: destination.overwrite,
    discardOnHttpError: parsed.throwHttpErrors,
    keepPartialOnFailure: true,
    ...(parsed.segments === undefined ? {} : { segments: parsed.segments }),
    ...(parsed.integrity === undefined
      ? {}
      : { integrityAlgorithm: parsed.integrity.algorithm, integrityDigests: parsed.integrity.digests }),
    ...(resume === undefined || resume.partialPath === ''
      ? {}
      : resumeFields(resume, fs.lstatSync(resume.partialPath, { throwIfNoEntry: false })?.size ?? 0)),
  };
  const resumeTemplate = {
    destinationDirectory: destination.destinationDirectory,
    destinationFileName: destination.destinationFileName,
    nameFromResponse: destination.nameFromResponse,
    overwrite: destination.overwrite,
    url,
  };
  return { ...promiseRequest('download', request, {}, parsed), resumeTemplate };
}

/** upload(url, body, options): bytes, a Blob, a file path streamed from disk, or a stream streamed from JS. */
export function promiseUpload(
  url: string,
  body: Buffer | Uint8Array | Blob | string | BodyStreamSource,
  options: UploadOptions,
  maximumResponseSize: number,
): PromiseRequest {
  const parsed = parseTaskOptions('upload', options);
  const target = validateUrl(url);
  if (body === undefined || body === null)
    throw typeError(ErrorCodes.INVALID_ARGUMENT, 'upload(url, body): body is required');
  const request = {
    kind: TaskKind.Upload,
    url: target,
    method: parsed.method ?? 'POST',
    ...fromOptions(parsed),
    maximumResponseSize: parsed.maximumResponseSize ?? maximumResponseSize,
  };
  const prepared = prepareUploadBody(body);
  withStreamedBody(request, prepared);
  return promiseRequest('upload', request, prepared, parsed);
}

/** request(url, options): a data task, its body in memory or (stream: true) as a Readable. */
export function promiseData(url: string, options: RequestOptions, maximumResponseSize: number): PromiseRequest {
  const parsed = parseTaskOptions('request', options);
  const target = validateUrl(url);
  const body = prepareDataBody(parsed.body);
  const method = parsed.method ?? (body === undefined ? 'GET' : 'POST');
  const request = {
    kind: TaskKind.Data,
    url: target,
    method,
    ...fromOptions(parsed),
    streamBody: parsed.stream,
    maximumResponseSize: parsed.maximumResponseSize ?? maximumResponseSize,
  };
  withStreamedBody(request, body);
  return promiseRequest('data', request, body ?? {}, parsed);
}

/** The body is ready: the engine's request carries it, and the Content-Type it implies unless the caller set one. */
export function withBody(request: NativeTaskRequest, ready: EngineBody): void {
  if (ready.body !== undefined) request.body = ready.body;
  if (ready.bodyPath !== undefined) request.bodyPath = ready.bodyPath;
  if (ready.impliedContentType !== undefined && !hasHeader(request.headers, 'content-type')) {
    request.headers = [...request.headers, 'Content-Type', ready.impliedContentType];
  }
}

// A genuine blob's partial file is used only while it is still that file of ours. Gone (a
// cleaned temp folder): the download starts over. Anything else there now: refused.
function usableResume(resume: ResumeState): ResumeState {
  if (isOwnPartial(resume.partialPath, resume.partialIdentity)) return resume;
  if (fs.lstatSync(resume.partialPath, { throwIfNoEntry: false }) === undefined) {
    return { ...resume, partialPath: '', partialIdentity: '', offset: 0, validator: '', segmentPlan: '' };
  }
  throw typeError(
    ErrorCodes.INVALID_RESUME_DATA,
    `resumeData's partial file ${resume.partialPath} is no longer the file this download wrote; refusing to touch it`,
  );
}

function description(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw typeError(ErrorCodes.INVALID_ARGUMENT, 'taskDescription must be a string');
  return value;
}

// A streamed body's Content-Length, when the caller declared one, is the engine's to send (as
// libcurl and NSURLSession do for a known length); without one it goes chunked on HTTP/1.1.
// Before the task starts: a bad Content-Length throws at the caller's call.
function withStreamedBody(request: Omit<NativeTaskRequest, 'taskIdentifier'>, body: PreparedBody | undefined): void {
  if (body instanceof Promise || body?.stream === undefined) return;
  request.streamedBody = true;
  const headers: string[] = [];
  for (let i = 0; i < request.headers.length; i += 2) {
    if (request.headers[i].toLowerCase() === 'content-length') {
      const declared = request.headers[i + 1].trim();
      if (!/^\d{1,15}$/.test(declared)) {
        throw typeError(
          ErrorCodes.INVALID_ARGUMENT,
          `Content-Length of a streamed body must be a byte count, got ${declared}`,
        );
      }
      request.streamedBodyLength = Number(declared);
    } else headers.push(request.headers[i], request.headers[i + 1]);
  }
  request.headers = headers;
}

function hasHeader(flat: string[], name: string): boolean {
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i].toLowerCase() === name) return true;
  }
  return false;
}
