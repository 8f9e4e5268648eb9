// Plain event records that engines post and the bridge turns into JS objects.
// Field names follow the Titanium events they become (see lib/types.ts); which fields travel
// for each event type, and in which order, is native/engine/wire.h.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "wire.h"

namespace urlsession {

// Task kinds and event types are native/engine/wire.h's tables (lib/generated/wire.ts has the
// same names); what each event type carries is its field table there.
enum class TaskKind : uint8_t {
#define URLSESSION_KIND_ENUMERATOR(name, value) name = value,
  URLSESSION_TASK_KINDS(URLSESSION_KIND_ENUMERATOR)
#undef URLSESSION_KIND_ENUMERATOR
};

enum class EventType : uint8_t {
#define URLSESSION_EVENT_ENUMERATOR(name, value, fields) name = value,
  URLSESSION_EVENT_TYPES(URLSESSION_EVENT_ENUMERATOR)
#undef URLSESSION_EVENT_ENUMERATOR
};

struct TaskMetrics {
  double dnsMs = -1, connectMs = -1, tlsMs = -1, firstByteMs = -1, totalMs = -1;
  int64_t bytesSent = 0, bytesReceived = 0;
  int redirectCount = 0;
  std::string protocol;       // "http/1.1", "h2", "h3"
  std::string remoteAddress;  // "127.0.0.1:8080"
};

struct Event {
  EventType type = EventType::TaskCompleted;
  uint64_t taskIdentifier = 0;  // 0 for session-level events
  uint64_t token = 0;           // Reset/FlushCompleted
  int64_t totalBytes = 0;       // progress: bytes so far
  int64_t expectedBytes = 0;    // progress: Content-Length or upload size; 0 when unknown
  std::string segments;         // DownloadProgress of a segmented download: its plan (segment_plan.h)
  int statusCode = 0;           // HTTP status; 0 when no response arrived
  int errorCode = 0;            // NSURLErrorDomain code; 0 on success
  std::string message;          // human-readable error description
  std::string location;         // DownloadCompleted: absolute path of the finished file
  std::string responseBody;     // TaskCompleted of upload/data tasks
  std::string url;              // final URL after redirects (Response, TaskCompleted)
  std::vector<std::pair<std::string, std::string>> responseHeaders;  // Response
  TaskMetrics metrics;                                               // TaskCompleted
  // TaskCompleted of a failed download with keepPartialOnFailure: what a resume needs.
  std::string partialPath;
  int64_t partialBytes = 0;
  std::string validator;        // strong ETag, else Last-Modified, of the response
  std::string partialIdentity;  // The identity of the partial file (core/file_ops.h FileIdentity)
  // TaskRecovered: the recovered task's kind and the description its process gave it.
  TaskKind kind = TaskKind::Data;
  std::string taskDescription;
};

// A streamed request body's queue has room again (core/body_stream.h): JS writes on.
inline Event BodyWantedEvent(uint64_t taskIdentifier) {
  Event wanted;
  wanted.type = EventType::BodyWanted;
  wanted.taskIdentifier = taskIdentifier;
  return wanted;
}

}  // namespace urlsession
