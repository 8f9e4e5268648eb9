// Plain event records that engines post and the bridge turns into JS objects.
// Field names follow the Titanium events they become (see lib/types.ts).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace urlsession {

enum class EventType : uint8_t {
  DownloadProgress = 0,   // totalBytes / expectedBytes
  UploadProgress = 1,     // totalBytes / expectedBytes
  Response = 2,           // statusCode + responseHeaders, once the final response head arrived
  DownloadCompleted = 3,  // location + statusCode; always before the task's TaskCompleted
  TaskCompleted = 4,      // errorCode (0 = success) + message + statusCode + responseBody
  SessionInvalidated = 5, // after the last TaskCompleted of an invalidated session
  ResetCompleted = 6,     // token
  FlushCompleted = 7,     // token
  BodyData = 8,           // a chunk of a streamed body (in responseBody); never coalesced
  TaskRecovered = 9,      // a task of an earlier process the OS kept running: url, kind (statusCode
                          // field carries the TaskKind), message carries its taskDescription
  BackgroundEventsDelivered = 10,  // the OS delivered every event it held for this session
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
  int statusCode = 0;           // HTTP status; 0 when no response arrived
  int errorCode = 0;            // NSURLErrorDomain code; 0 on success
  std::string message;          // human-readable error description
  std::string location;         // DownloadCompleted: absolute path of the finished file
  std::string responseBody;     // TaskCompleted of upload/data tasks
  std::string url;              // final URL after redirects (Response, TaskCompleted)
  std::vector<std::pair<std::string, std::string>> responseHeaders;  // Response
  TaskMetrics metrics;          // TaskCompleted
  // TaskCompleted of a failed download with keepPartialOnFailure: what a resume needs.
  std::string partialPath;
  int64_t partialBytes = 0;
  std::string validator;        // strong ETag, else Last-Modified, of the response
  std::string partialIdentity;  // The identity of the partial file (core/file_ops.h FileIdentity)
};

}  // namespace urlsession
