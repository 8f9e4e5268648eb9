// Names for the numbers that cross the native boundary (native/engine/*.h).
import type { NativeTaskRequest } from './native';

export const EventType = {
  DownloadProgress: 0,
  UploadProgress: 1,
  Response: 2,
  DownloadCompleted: 3,
  TaskCompleted: 4,
  SessionInvalidated: 5,
  ResetCompleted: 6,
  FlushCompleted: 7,
  BodyData: 8,
  TaskRecovered: 9,
  BackgroundEventsDelivered: 10,
} as const;

export const TaskKind = {
  Download: 0,
  Upload: 1,
  Data: 2,
} as const;

// A task request crosses the boundary as an array in this order (native/bridge/session_wrap.cc,
// TaskField): reading 20 named properties from C++ made V8 internalize 20 strings per task, the
// largest single cost of a small request's JS side (bench/ANALYSIS.md, (c)). Written out field by
// field, so that the compiler checks every name against NativeTaskRequest.
// taskDescription travels beside the request (the journal keeps it separately): the Apple engine
// keeps it in the task tag, so that a task recovered after a relaunch still has it.
export function packTaskRequest(r: NativeTaskRequest, taskDescription: string): unknown[] {
  return [
    r.taskIdentifier, r.kind, r.url, r.method, r.headers, r.body, r.bodyPath, r.downloadDirectory,
    r.downloadFileName, r.timeout, r.overwrite, r.nameFromResponse, r.discardOnHttpError,
    r.keepPartialOnFailure, r.resumePartialPath, r.resumeOffset, r.resumeValidator,
    r.integrityAlgorithm, r.integrityDigests, r.streamBody, r.resumeIdentity, r.maximumResponseSize,
    taskDescription,
  ];
}
