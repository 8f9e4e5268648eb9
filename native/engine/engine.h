// The seam between the platform transfer engines (libcurl on Linux, NSURLSession
// on macOS) and everything above them. Plain C++17: no Node-API, no Foundation.
//
// Threading contract:
//  - Every Engine method is called on the JS thread (by the bridge) and must not
//    block on network I/O; engines hand work to their own thread/queue.
//  - Engines report through EventSink::Post from any of their own threads.
//  - After Shutdown() returns, the engine never calls the sink again.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/body_stream.h"
#include "events.h"

namespace urlsession {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct TlsOptions {
  std::string caPem;                          // extra trusted roots (PEM); empty: system roots only
  std::vector<std::string> pinnedSpkiSha256;  // base64 sha256 of SubjectPublicKeyInfo; empty: no pinning
};

// Expected digests of one download: any match passes, as SRI's list of hashes does.
struct IntegrityExpectation {
  std::string algorithm;             // "sha256", "sha384", "sha512"; empty: no check
  std::vector<std::string> digests;  // raw digest bytes
  bool Enabled() const { return !algorithm.empty(); }
};

enum class CookieAcceptPolicy : uint8_t { Always = 0, Never = 1, OnlyFromMainDocumentDomain = 2 };
enum class ProxyMode : uint8_t { System = 0, Direct = 1, Explicit = 2 };

struct SessionConfig {
  std::string identifier;                 // never empty (the JS layer generates one when the user gives none)
  bool persistent = false;                // work should outlive the process (macOS: a background session when bundled)
  HeaderList additionalHeaders;           // HTTPHeaderFields; per-request headers win on the same name
  std::string stateDirectory;             // per-session folder for persistent state (cookies); empty: none
  double timeoutIntervalForRequest = 60;  // seconds without any bytes before -1001
  double timeoutIntervalForResource = 0;  // seconds for the whole transfer; 0: unlimited
  int maximumConnectionsPerHost = 6;
  int maximumRedirects = 20;
  bool allowsInsecureRedirects = false;  // https -> http redirects fail with -1022 unless true
  uint32_t progressIntervalMs = 100;     // minimum spacing of progress events per task
  TlsOptions tls;
  CookieAcceptPolicy cookieAcceptPolicy = CookieAcceptPolicy::Always;
  ProxyMode proxyMode = ProxyMode::System;  // System: the OS settings (macOS) or *_proxy variables (Linux)
  std::string proxyUrl;                     // Explicit: "http://host:port" (credentials allowed)
  std::string noProxy;                      // Explicit: comma-separated hosts that bypass the proxy
  // Honoured by NSURLSession; the curl engine accepts and ignores them (no such networks on Linux).
  bool allowsCellularAccess = true;
  bool allowsExpensiveNetworkAccess = true;
  bool allowsConstrainedNetworkAccess = true;
  // Bytes per second for all running tasks together, each direction (downloads, uploads) on its
  // own; 0: no limit. Shared as core/speed_shares.h says. Engine::SetSpeedLimit(0, ...) changes it.
  int64_t maximumBytesPerSecond = 0;
};

// Stream: the body arrives from JS while the task runs (Engine::WriteBody, core/body_stream.h).
enum class BodySource : uint8_t { None = 0, Memory = 1, File = 2, Stream = 3 };

struct TaskRequest {
  uint64_t taskIdentifier = 0;
  TaskKind kind = TaskKind::Data;
  std::string url;
  std::string method = "GET";
  HeaderList headers;  // per-request headers (already validated by the JS layer)
  BodySource bodySource = BodySource::None;
  std::string bodyBytes;            // BodySource::Memory
  std::string bodyPath;             // BodySource::File: streamed from disk, never read whole
  int64_t streamedBodyLength = -1;  // BodySource::Stream: the declared Content-Length; -1: none
  std::string downloadDirectory;    // Download: where the partial file and the result go
  std::string downloadFileName;     // Download: final name inside downloadDirectory
  double timeout = 0;               // per-request override of timeoutIntervalForRequest; 0: session's
  std::string taskDescription;      // the user's own; the Apple engine keeps it in the task tag

  // Download placement.
  bool overwrite = false;           // replace an existing downloadDirectory/downloadFileName
  bool nameFromResponse = false;    // name from Content-Disposition, else the final URL
  bool discardOnHttpError = false;  // status >= 400: no file; the body's first 64 KiB go to responseBody
  // Resume: failed or cancelled downloads keep their partial file (reported in TaskCompleted),
  // and a new task continues it with Range + If-Range; a server that ignores the range or a
  // changed resource (200 instead of 206) restarts from zero.
  bool keepPartialOnFailure = false;
  std::string resumePartialPath;
  int64_t resumeOffset = 0;
  std::string resumeValidator;  // strong ETag, else Last-Modified, of the earlier response
  // The identity of the partial file (core/file_ops.h FileIdentity, as text): the file at
  // resumePartialPath is reopened only when it is still that regular file of ours.
  std::string resumeIdentity;
  // Segmented downloads (core/segment_plan.h): up to this many Range requests fetch the body at
  // once when the server allows ranges (0 or 1: one request). resumeSegments: the plan of an
  // earlier attempt (with resumePartialPath), every segment continuing from its own offset.
  int segments = 0;
  std::string resumeSegments;

  // Downloads: verified while the bytes arrive; a mismatch fails the task with
  // kURLSessionErrorIntegrityMismatch and leaves nothing at the destination.
  IntegrityExpectation integrity;
  // Data tasks: the body goes to JS as BodyData events instead of into responseBody. The engine
  // pauses the transfer while more than kStreamHighWaterBytes are unacknowledged.
  bool streamBody = false;
  // Data and upload tasks whose body is kept in memory (not streamed): a body larger than this
  // fails the task with kNSURLErrorDataLengthExceedsMaximum (-1103) and is freed. 0: no limit.
  int64_t maximumResponseSize = 0;
  // NSURLSessionTask.priority: 0.0 (lowest) to 1.0 (highest); NSURLSessionTaskPriorityDefault.
  double priority = 0.5;
  // A redirect is the task's answer instead of being followed (fetch's redirect: 'manual').
  // Background sessions on macOS always follow (NSURLSession.h, willPerformHTTPRedirection:).
  bool manualRedirects = false;
  // This task's own speed limit in bytes per second, each direction; 0: none. Within a session
  // limit it is a cap on the task's share. Engine::SetSpeedLimit(taskIdentifier, ...) changes it.
  int64_t maximumBytesPerSecond = 0;
  // fetch's credentials: 'omit': this task neither sends the session's cookies nor stores the
  // cookies of its responses (the caller's own Cookie header is still sent, as Node's fetch does).
  bool omitCredentials = false;
  // fetch's cache mode (RequestCache), empty when not given: the session's policy. Neither
  // engine keeps an HTTP cache, so "only-if-cached" fails the task with
  // kNSURLErrorResourceUnavailable before anything is sent; the Apple engine maps the others onto
  // NSURLRequestCachePolicy (apple_session_model.h, CachePolicyOf).
  std::string cacheMode;
  // Whether a kept body of `have` bytes may not grow by `adding` (the one rule both engines use).
  bool BodyExceedsLimit(int64_t have, int64_t adding) const {
    return maximumResponseSize > 0 && have + adding > maximumResponseSize;
  }
};

constexpr int64_t kStreamHighWaterBytes = 1 << 20;

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Called on engine threads. Must be cheap and must never call back into the engine.
  virtual void Post(Event event) = 0;
  // Optional batching, called on the posting thread: between HoldWake() and ReleaseWake() posts
  // do not wake the JS thread; ReleaseWake() wakes it once if anything arrived meanwhile. The curl
  // engine thread holds for one turn of its loop, so a response head and its completion reach JS
  // in one batch instead of two wake-ups.
  virtual void HoldWake() {}
  virtual void ReleaseWake() {}
};

class Engine {
 public:
  virtual ~Engine() = default;
  // True when the OS itself keeps the session's transfers going after the process exits
  // (NSURLSession background configuration in a bundled app). The JS journal is not used then.
  virtual bool UsesSystemBackground() const { return false; }

  // Starts a task at once. Failures (bad file, refused connection, ...) arrive as a
  // TaskCompleted event with an NSURLErrorDomain code, never as an exception.
  virtual void StartTask(TaskRequest request) = 0;
  // Cancels a running task: it completes with NSURLErrorCancelled (-999). Unknown ids are ignored.
  virtual void CancelTask(uint64_t taskIdentifier) = 0;
  // Pause and continue a running task without losing bytes. Unknown ids are ignored.
  virtual void SuspendTask(uint64_t taskIdentifier) = 0;
  virtual void ResumeTask(uint64_t taskIdentifier) = 0;
  // JS consumed `bytes` of a streamed body (TaskRequest::streamBody): may lift backpressure.
  virtual void AcknowledgeBody(uint64_t taskIdentifier, int64_t bytes) = 0;
  // The next piece of a task's streamed request body (BodySource::Stream) and/or its end: queued
  // for the engine (BodyStream::Write), never waiting. True: JS may write more at once; false:
  // it waits for the task's BodyWanted event. Unknown or ended tasks drop it (false).
  virtual bool WriteBody(uint64_t taskIdentifier, std::string bytes, BodyStreamEnd end) = 0;
  // Changes a speed limit while tasks run (bytes per second, 0: none): taskIdentifier 0 is the
  // session's (SessionConfig::maximumBytesPerSecond), any other a task's own
  // (TaskRequest::maximumBytesPerSecond), also before it runs. Unknown ids are ignored.
  virtual void SetSpeedLimit(uint64_t taskIdentifier, int64_t bytesPerSecond) = 0;

  // Seed semantics: no new tasks after either call. FinishTasksAndInvalidate lets running
  // tasks finish; InvalidateAndCancel cancels them. Both end with a SessionInvalidated event
  // posted after every task's TaskCompleted.
  virtual void FinishTasksAndInvalidate() = 0;
  virtual void InvalidateAndCancel() = 0;

  // Empties cookies, cache and credentials and removes the session's disk files; posts
  // ResetCompleted(token). Flush writes persistent state to disk; posts FlushCompleted(token).
  virtual void Reset(uint64_t token) = 0;
  virtual void Flush(uint64_t token) = 0;

  // Stops every task without further events and joins engine threads. Idempotent.
  // Called from env cleanup hooks and destructors; must not post to the sink.
  virtual void Shutdown() = 0;
};

// Each platform provides exactly one of these (engine_factory_*.cc/.mm). Returns no engine, and
// why in *failure, when the engine cannot start (e.g. no file descriptor left for the curl
// engine's epoll set); the bridge throws that as ERR_URLSESSION_ENGINE_START.
std::unique_ptr<Engine> CreateEngine(const SessionConfig& config, EventSink* sink, std::string* failure);
const char* DefaultEngineName();

}  // namespace urlsession
