// The native wire, defined once: the event types, task kinds and task request fields that cross
// between the engines and JS, and the order in which each event type's fields travel. Plain
// preprocessor tables (X-macros), no code. The C++ enums (events.h, engine.h), the bridge's event
// encoder (bridge/event_to_js.cc) and task parser (bridge/session_wrap.cc) expand them;
// scripts/generate-wire.js reads this file and writes lib/generated/wire.ts (the same enums, the
// JS types, packTaskRequest and the event decoder). Change a table, then run
// `node scripts/generate-wire.js`; CI fails while the generated file is stale.
//
// Format rules the generator relies on: one `#define URLSESSION_...(X)` per table, entries
// `X(...)` with plain identifiers and numbers, comments only as /* ... */ before an entry.
#pragma once

// Task kinds: KIND(Name, value).
#define URLSESSION_TASK_KINDS(KIND) \
  KIND(Download, 0)                 \
  KIND(Upload, 1)                   \
  KIND(Data, 2)

// Event types: EVENT(Name, value, FIELDS), FIELDS naming the table of the fields it carries
// besides its type and taskIdentifier (0 for session-level events).
#define URLSESSION_EVENT_TYPES(EVENT)                                                        \
  /* Bytes so far, and Content-Length (0 when unknown). */                                   \
  EVENT(DownloadProgress, 0, URLSESSION_PROGRESS_FIELDS)                                     \
  /* Bytes sent so far, and the upload's size. */                                            \
  EVENT(UploadProgress, 1, URLSESSION_PROGRESS_FIELDS)                                       \
  /* Once the final response head arrived. */                                                \
  EVENT(Response, 2, URLSESSION_RESPONSE_FIELDS)                                             \
  /* Always before the task's TaskCompleted. */                                              \
  EVENT(DownloadCompleted, 3, URLSESSION_DOWNLOAD_COMPLETED_FIELDS)                          \
  EVENT(TaskCompleted, 4, URLSESSION_TASK_COMPLETED_FIELDS)                                  \
  /* After the last TaskCompleted of an invalidated session. */                              \
  EVENT(SessionInvalidated, 5, URLSESSION_NO_FIELDS)                                         \
  EVENT(ResetCompleted, 6, URLSESSION_TOKEN_FIELDS)                                          \
  EVENT(FlushCompleted, 7, URLSESSION_TOKEN_FIELDS)                                          \
  /* A chunk of a streamed body; never coalesced. */                                         \
  EVENT(BodyData, 8, URLSESSION_BODY_DATA_FIELDS)                                            \
  /* A task of an earlier process the OS kept running (Apple engine). */                     \
  EVENT(TaskRecovered, 9, URLSESSION_TASK_RECOVERED_FIELDS)                                  \
  /* The OS delivered every event it held for this session. */                               \
  EVENT(BackgroundEventsDelivered, 10, URLSESSION_NO_FIELDS)                                 \
  /* A streamed request body wants more: writeBody said "no more", and the queue drained. */ \
  EVENT(BodyWanted, 11, URLSESSION_NO_FIELDS)

// Field tables: FIELD(Kind, member, jsName), in wire order. `member` is the Event member (or
// TaskMetrics member in URLSESSION_METRICS_FIELDS), `jsName` the property of lib/'s NativeEvent.
// Kinds: Number (a number), TaskKind (a TaskKind as a number), Text (a string), Body (bytes, a
// Buffer in JS), Headers (a header list, flat [name, value, ...] in JS), Metrics (the fields of
// URLSESSION_METRICS_FIELDS, an object in JS), RestIf (not a field: the fields after it travel
// only when the string `member` is not empty, and JS leaves them out otherwise).
#define URLSESSION_NO_FIELDS(FIELD)

#define URLSESSION_PROGRESS_FIELDS(FIELD)                                                          \
  FIELD(Number, totalBytes, totalBytes)                                                            \
  FIELD(Number, expectedBytes, expectedBytes)                                                      \
  FIELD(RestIf, segments, segments)                                                                \
  /* Segmented downloads: each segment's start-next-end (core/segment_plan.h), for the journal. */ \
  FIELD(Text, segments, segments)

#define URLSESSION_RESPONSE_FIELDS(FIELD)                             \
  /* HTTP status; 0 when no response arrived. */                      \
  FIELD(Number, statusCode, statusCode)                               \
  FIELD(Number, expectedBytes, expectedBytes)                         \
  /* Final URL after redirects. */                                    \
  FIELD(Text, url, url)                                               \
  /* Flat [name, value, name, value, ...]. */                         \
  FIELD(Headers, responseHeaders, headers)                            \
  /* What continues these bytes (ResumeValidator); downloads only. */ \
  FIELD(Text, validator, validator)

#define URLSESSION_DOWNLOAD_COMPLETED_FIELDS(FIELD) \
  FIELD(Number, statusCode, statusCode)             \
  /* Absolute path of the finished file. */         \
  FIELD(Text, location, location)

#define URLSESSION_TASK_COMPLETED_FIELDS(FIELD)                                           \
  FIELD(Number, statusCode, statusCode)                                                   \
  /* NSURLErrorDomain code; 0 on success. */                                              \
  FIELD(Number, errorCode, errorCode)                                                     \
  /* Upload and data tasks' body. */                                                      \
  FIELD(Body, responseBody, responseBody)                                                 \
  /* Human-readable error description. */                                                 \
  FIELD(Text, message, message)                                                           \
  FIELD(Text, url, url)                                                                   \
  FIELD(Metrics, metrics, metrics)                                                        \
  FIELD(RestIf, partialPath, partialPath)                                                 \
  /* A failed download with keepPartialOnFailure: what a resume needs. */                 \
  FIELD(Number, partialBytes, partialBytes)                                               \
  FIELD(Text, partialPath, partialPath)                                                   \
  /* Strong ETag, else Last-Modified, of the response. */                                 \
  FIELD(Text, validator, validator)                                                       \
  /* The identity ("device:inode:birthNs") of the partial file (lib/partial-files.ts). */ \
  FIELD(Text, partialIdentity, partialIdentity)                                           \
  /* A segmented download's plan (core/segment_plan.h): resume every segment from it. */  \
  FIELD(Text, segments, segments)

#define URLSESSION_TOKEN_FIELDS(FIELD) FIELD(Number, token, token)

#define URLSESSION_BODY_DATA_FIELDS(FIELD) \
  /* A piece of a streamed body. */        \
  FIELD(Body, responseBody, chunk)

#define URLSESSION_TASK_RECOVERED_FIELDS(FIELD)            \
  FIELD(TaskKind, kind, kind)                              \
  FIELD(Text, url, url)                                    \
  /* The description the earlier process gave the task. */ \
  FIELD(Text, taskDescription, taskDescription)

#define URLSESSION_METRICS_FIELDS(FIELD)      \
  FIELD(Number, dnsMs, dnsMs)                 \
  FIELD(Number, connectMs, connectMs)         \
  FIELD(Number, tlsMs, tlsMs)                 \
  FIELD(Number, firstByteMs, firstByteMs)     \
  FIELD(Number, totalMs, totalMs)             \
  FIELD(Number, bytesSent, bytesSent)         \
  FIELD(Number, bytesReceived, bytesReceived) \
  FIELD(Number, redirectCount, redirectCount) \
  /* "http/1.1", "h2", "h3". */               \
  FIELD(Text, protocol, protocol)             \
  /* "127.0.0.1:8080". */                     \
  FIELD(Text, remoteAddress, remoteAddress)

// A task request crosses as an array in this order: reading named properties from C++ made V8
// internalize a string per property per task, the largest single cost of a small request's JS
// side (bench/ANALYSIS.md, (c)). TASK_FIELD(name, JsType, Presence): JsType one of number,
// string, boolean, Buffer, TaskKind, StringList (string[]), BufferList (Buffer[]); Presence
// Required or Optional (in NativeTaskRequest), or Argument (packTaskRequest's own parameter).
#define URLSESSION_TASK_FIELDS(TASK_FIELD)                                                          \
  TASK_FIELD(taskIdentifier, number, Required)                                                      \
  TASK_FIELD(kind, TaskKind, Required)                                                              \
  TASK_FIELD(url, string, Required)                                                                 \
  TASK_FIELD(method, string, Required)                                                              \
  /* Flat [name, value, name, value, ...]. */                                                       \
  TASK_FIELD(headers, StringList, Required)                                                         \
  TASK_FIELD(body, Buffer, Optional)                                                                \
  TASK_FIELD(bodyPath, string, Optional)                                                            \
  TASK_FIELD(downloadDirectory, string, Optional)                                                   \
  TASK_FIELD(downloadFileName, string, Optional)                                                    \
  TASK_FIELD(timeout, number, Optional)                                                             \
  TASK_FIELD(overwrite, boolean, Optional)                                                          \
  TASK_FIELD(nameFromResponse, boolean, Optional)                                                   \
  TASK_FIELD(discardOnHttpError, boolean, Optional)                                                 \
  TASK_FIELD(keepPartialOnFailure, boolean, Optional)                                               \
  TASK_FIELD(resumePartialPath, string, Optional)                                                   \
  TASK_FIELD(resumeOffset, number, Optional)                                                        \
  TASK_FIELD(resumeValidator, string, Optional)                                                     \
  /* 'sha256' | 'sha384' | 'sha512', with the raw digests any of which must match. */               \
  TASK_FIELD(integrityAlgorithm, string, Optional)                                                  \
  TASK_FIELD(integrityDigests, BufferList, Optional)                                                \
  /* Data tasks: BodyData events instead of responseBody, acknowledged with acknowledgeBody. */     \
  TASK_FIELD(streamBody, boolean, Optional)                                                         \
  /* The identity ("device:inode:birthNs") the file at resumePartialPath must still be. */          \
  TASK_FIELD(resumeIdentity, string, Optional)                                                      \
  /* Data/upload tasks with a body kept in memory: fail with -1103 past this many bytes; 0 none. */ \
  TASK_FIELD(maximumResponseSize, number, Optional)                                                 \
  /* NSURLSessionTask.priority, 0.0-1.0 (0.5 when absent): the order among tasks waiting for a */   \
  /* host's connections, the h2 stream weight, NSURLSessionTask's own priority. */                  \
  TASK_FIELD(priority, number, Optional)                                                            \
  /* Redirects are not followed: a 3xx is the task's answer (fetch's redirect: 'manual'). */        \
  TASK_FIELD(manualRedirects, boolean, Optional)                                                    \
  /* Bytes per second, each direction; 0 or absent: no limit of the task's own. */                  \
  TASK_FIELD(maximumBytesPerSecond, number, Optional)                                               \
  /* Downloads: how many Range requests may fetch the body at once (1 or absent: one). */           \
  TASK_FIELD(segments, number, Optional)                                                            \
  /* A segmented download's plan (core/segment_plan.h text) to resume every segment from. */        \
  TASK_FIELD(resumeSegments, string, Optional)                                                      \
  /* The body comes from JS while the task runs, through writeBody (core/body_stream.h). */         \
  TASK_FIELD(streamedBody, boolean, Optional)                                                       \
  /* ... and its Content-Length, when the caller declared one (absent: chunked on HTTP/1.1). */     \
  TASK_FIELD(streamedBodyLength, number, Optional)                                                  \
  /* fetch's credentials: 'omit': the session's cookies are neither sent nor updated. */            \
  TASK_FIELD(omitCredentials, boolean, Optional)                                                    \
  /* fetch's cache mode ('default', 'no-store', 'reload', 'no-cache', 'force-cache', */             \
  /* 'only-if-cached'); absent: the session's policy. */                                            \
  TASK_FIELD(cacheMode, string, Optional)                                                           \
  /* Beside the request (the journal keeps it separately): the Apple engine keeps it in the task */ \
  /* tag, so that a task recovered after a relaunch still has it. */                                \
  TASK_FIELD(taskDescription, string, Argument)
