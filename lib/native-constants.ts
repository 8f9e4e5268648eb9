// Names for the numbers that cross the native boundary (native/engine/*.h).
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
// largest single cost of a small request's JS side (bench/ANALYSIS.md, (c)).
const TASK_FIELDS = [
  'taskIdentifier', 'kind', 'url', 'method', 'headers', 'body', 'bodyPath', 'downloadDirectory',
  'downloadFileName', 'timeout', 'overwrite', 'nameFromResponse', 'discardOnHttpError',
  'keepPartialOnFailure', 'resumePartialPath', 'resumeOffset', 'resumeValidator',
  'integrityAlgorithm', 'integrityDigests', 'streamBody',
] as const;

export function packTaskRequest(request: { [K in (typeof TASK_FIELDS)[number]]?: unknown }): unknown[] {
  const packed = new Array<unknown>(TASK_FIELDS.length);
  for (let i = 0; i < TASK_FIELDS.length; i++) packed[i] = request[TASK_FIELDS[i]];
  return packed;
}
