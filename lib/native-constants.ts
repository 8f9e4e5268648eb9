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
