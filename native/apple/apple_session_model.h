// Every decision of the macOS engine, as portable C++17 (no Foundation, no Node-API), so that it
// is compiled and tested on Linux (test/native/apple_model_test.cc). apple_engine.mm only
// translates: it feeds NSURLSession's delegate callbacks in as plain values and performs the
// Commands returned here on the real NSURLSessionTask objects.
//
// What lives here: the task table and the NSURLSessionTask.taskIdentifier <-> our identifier
// mapping, tombstones of completed tasks, suspend holds, the order of response / data / metrics /
// finish / completion events, adoption of recovered tasks (task_tag.h), redirect and server-trust
// verdicts, speed limits (default sessions: a task ahead of its share is suspended until its
// pacer allows more; core/speed_shares.h, core/speed_pacer.h), the lifetime of temporary upload bodies and of
// NSURLSession resume data (the files themselves: background_files.h), which Event to post, and
// the routing of a segmented download's extra Range data tasks (their decisions: apple_segments.h).
//
// Threading: one instance per session; every method except Close() runs on the session's serial
// NSURLSession delegate queue (the .mm hops there from the JS thread first). Close() may run on
// any thread: it takes the post mutex, after which nothing reaches the sink.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "apple/apple_body_stream.h"
#include "apple/background_files.h"  // kAppleResumeDataValidator
#include "core/download_writer.h"
#include "core/progress_throttle.h"
#include "core/speed_pacer.h"
#include "engine/engine.h"

namespace urlsession {

using NsTaskId = uint64_t;  // NSURLSessionTask.taskIdentifier

// What the adapter does to an NSURLSessionTask.
enum class TaskAction : uint8_t { Suspend, Resume, Cancel, CancelProducingResumeData };
struct Command {
  TaskAction action;
  NsTaskId task;
  bool operator==(const Command& o) const { return action == o.action && task == o.task; }
};
using Commands = std::vector<Command>;

// The NSURLSessionTask subclass and constructor a new task needs.
// UploadStreamed: uploadTaskWithStreamedRequest:, its body from JS (apple_body_stream.h).
enum class NsTaskType : uint8_t {
  Data,
  Download,
  DownloadWithResumeData,
  UploadFromFile,
  UploadFromData,
  UploadStreamed
};

// NSURLRequestCachePolicy's values (NSURLRequest.h), which apple_delegate.mm assigns to
// NSURLRequest.cachePolicy; Session: leave the session's requestCachePolicy.
enum class RequestCachePolicy : int {
  Session = -1,
  UseProtocolCachePolicy = 0,
  ReloadIgnoringLocalCacheData = 1,
  ReturnCacheDataElseLoad = 2,
  ReturnCacheDataDontLoad = 3,
  ReloadRevalidatingCacheData = 5,
};

// fetch's cache mode (TaskRequest::cacheMode) as the NSURLRequestCachePolicy that means the
// same (NSURLRequest.h): "default" uses the protocol's rules, "no-store" and "reload" ignore
// local data, "no-cache" revalidates it, "force-cache" and "only-if-cached" return it regardless
// of age, the latter never loading. Anything else (no mode): Session.
RequestCachePolicy CachePolicyOf(const std::string& cacheMode);

struct StartPlan {
  bool create = false;  // false: no task; its TaskCompleted was posted already
  NsTaskType type = NsTaskType::Data;
  std::string url, method;
  HeaderList headers;       // every header to set on the NSMutableURLRequest, in order
  double timeout = 0;       // > 0: NSURLRequest.timeoutInterval (0: the session's)
  std::string uploadFile;   // UploadFromFile
  std::string uploadBytes;  // UploadFromData
  std::string resumeData;   // DownloadWithResumeData: NSURLSession's opaque blob
  std::string tag;          // NSURLSessionTask.taskDescription (task_tag.h)
  uint64_t taskIdentifier = 0;
  bool startSuspended = false;  // a restarted task the user holds suspended: create, do not resume
  float priority = 0.5f;        // NSURLSessionTask.priority (NSURLSession.h: a hint, 0.0-1.0)
  // Nonzero: a Range data task of a segmented download (apple_segments.h), not a task of its
  // own: the adapter calls SegmentTaskCreated (or SegmentTaskCreationFailed) instead.
  uint64_t segmentRequest = 0;
  // NSURLRequest.HTTPShouldHandleCookies: NO for a task that omits credentials (fetch's
  // credentials: 'omit'): the session's cookies are neither sent nor set for it.
  bool handleCookies = true;
  RequestCachePolicy cachePolicy = RequestCachePolicy::Session;  // NSURLRequest.cachePolicy
};

// Segmented downloads (apple_segments.h): the Range data tasks a call decided to create and the
// commands on tasks it decided besides the ones it returned. The adapter takes them after every
// call into the model (TakeSegmentWork).
struct SegmentWork {
  std::vector<StartPlan> starts;
  Commands commands;
  bool empty() const { return starts.empty() && commands.empty(); }
};
struct SegmentEffects;

// The final response head, as the adapter reads it off NSHTTPURLResponse.
struct ResponseHead {
  int status = 0;
  HeaderList headers;
  std::string url;
  int64_t expectedLength = -1;  // NSURLResponseUnknownLength (-1) when unknown
};

// A server-trust challenge, evaluated by the adapter (SecTrustEvaluateWithError with the
// session's extra anchors): its verdict and the leaf's SPKI pin (base64 sha256; "" if unknown).
struct TrustEvaluation {
  std::string host;
  int port = 443;
  bool trusted = false;
  int failureCode = 0;  // the NSURLError code for an untrusted chain (-1201, -1202, -1204)
  std::string spkiPin;
};
enum class TrustVerdict : uint8_t { DefaultHandling, UseCredential, Reject };

// didCompleteWithError:, as plain values.
struct Completion {
  int code = 0;            // 0: no error; NSURLErrorDomain codes as they are; other domains: -1
  std::string message;     // localizedDescription
  std::string resumeData;  // error.userInfo[NSURLSessionDownloadTaskResumeData]
  std::string currentUrl;  // task.currentRequest.URL
  bool haveHead = false;   // task.response was an NSHTTPURLResponse
  ResponseHead head;
};

class AppleSessionModel {
 public:
  // `system`: a background configuration (nsurlsessiond runs the transfers). `temporaryDirectory`:
  // NSTemporaryDirectory(), where memory upload bodies of background sessions become files.
  AppleSessionModel(const SessionConfig& config, bool system, std::string temporaryDirectory, EventSink* sink);
  ~AppleSessionModel();

  // --- Commands from JS (already hopped onto the delegate queue) ---
  StartPlan PlanStart(TaskRequest request);
  // The adapter created the NSURLSessionTask of PlanStart (and resumes it at once), or could not.
  void TaskCreated(uint64_t taskIdentifier, NsTaskId task);
  void TaskCreationFailed(uint64_t taskIdentifier, int code);
  Commands Cancel(uint64_t taskIdentifier);
  Commands Suspend(uint64_t taskIdentifier);
  Commands Resume(uint64_t taskIdentifier);
  Commands Acknowledge(uint64_t taskIdentifier, int64_t bytes);
  // Engine::SetSpeedLimit: taskIdentifier 0 is the session's. The shares change at once; a task
  // held back may go on sooner, which the progress timer does (the adapter asks for it after).
  // Background ("system") sessions are not paced: nsurlsessiond moves their bytes.
  void SetSpeedLimit(uint64_t taskIdentifier, int64_t bytesPerSecond,
                     ProgressThrottle::Clock::time_point now = ProgressThrottle::Clock::now());
  // True: call finishTasksAndInvalidate / invalidateAndCancel on the NSURLSession.
  bool FinishTasksAndInvalidate();
  bool InvalidateAndCancel();
  // True: call resetWithCompletionHandler: / flushWithCompletionHandler:; false: the session is
  // invalidated, the completion was posted at once.
  bool Reset(uint64_t token);
  bool Flush(uint64_t token);
  // Env teardown (delegate queue): drops every task without posting. Default sessions: their
  // partial files (but those a persistent session's journal names, see
  // DownloadWriter::AbandonAtShutdown) and temporary bodies are deleted and the adapter must invalidateAndCancel
  // (returns true). Background sessions: nsurlsessiond keeps the transfers, so their temporary
  // bodies stay and the session is never invalidated (returns false).
  bool Shutdown();
  // Any thread: nothing is posted after this returns.
  void Close();

  // --- NSURLSession delegate callbacks ---
  // Whether a callback's task is unknown and may be a task of an earlier process: the adapter
  // then calls OnRecoveredTask with its taskDescription before the callback itself.
  bool NeedsAdoption(NsTaskId task) const;
  Commands OnRecoveredTask(NsTaskId task, const std::string& tag, const std::string& url, const std::string& method,
                           bool suspended);
  // Whether the adapter should read the task's response head for the next callback.
  bool ResponsePending(NsTaskId task) const;
  // didReceiveResponse:. True: NSURLSessionResponseAllow; false: NSURLSessionResponseCancel.
  bool OnResponse(NsTaskId task, const ResponseHead& head);
  // Both may suspend a task that got ahead of its speed limit (the progress timer resumes it).
  Commands OnData(NsTaskId task, const char* bytes, size_t length,
                  ProgressThrottle::Clock::time_point now = ProgressThrottle::Clock::now());
  Commands OnBodySent(NsTaskId task, int64_t totalSent, int64_t totalExpected,
                      ProgressThrottle::Clock::time_point now = ProgressThrottle::Clock::now());
  // Download tasks (background sessions): `head` is null unless ResponsePending said so.
  Commands OnDownloadProgress(NsTaskId task, int64_t totalWritten, int64_t totalExpected, const ResponseHead* head);
  // didFinishDownloadingToURL: the file at `tempPath` is deleted when the callback returns.
  void OnFinishedDownload(NsTaskId task, const std::string& tempPath, const ResponseHead& head);
  // willPerformHTTPRedirection: (default sessions only). True: follow; false: the adapter
  // completes the handler with nil after performing the returned commands: a cancel when the
  // policy refuses the redirect, none when `status` is not one a task follows (the response is
  // then the task's answer, as on Linux: core/redirect_policy.h).
  bool OnRedirect(NsTaskId task, int status, const std::string& fromUrl, const std::string& toUrl, Commands* commands);
  // A server's authentication challenge (HTTP Basic, Digest, NTLM, ...; not trust, not a
  // proxy's). True: answer NSURLSessionAuthChallengeRejectProtectionSpace, so no credential the
  // session's NSURLCredentialStorage holds is sent and the 401 is the answer: the task omits
  // credentials (fetch's credentials: 'omit'). False: default handling.
  bool RefusesServerCredentials(NsTaskId task) const;
  // Whether the session checks server trust itself (tls.caPem or pins).
  bool ChecksServerTrust() const;
  TrustVerdict OnServerTrust(NsTaskId task, const TrustEvaluation& evaluation);
  void OnMetrics(NsTaskId task, const TaskMetrics& metrics);
  // didCompleteWithError:. Usually returns a plan with create == false. A default-session download
  // whose answer to its Range request could not continue the kept bytes does not complete: the
  // plan is its request again from zero, which the adapter creates as for PlanStart (then
  // TaskCreated, and -resume unless startSuspended).
  StartPlan OnComplete(NsTaskId task, const Completion& completion);
  // cancelByProducingResumeData:'s handler, hopped onto the delegate queue.
  void OnResumeDataProduced(NsTaskId task, const std::string& resumeData);
  void OnInvalidated();
  void OnResetDone(uint64_t token);
  void OnFlushDone(uint64_t token);
  void OnBackgroundEventsDelivered();

  // Progress the throttle held back goes out once its interval has passed, even when NSURLSession
  // calls back no more (a stalled transfer); a task suspended by its speed limit is resumed once
  // its pacer allows. After a callback that may have held some, the adapter asks: true with
  // `delayMs` means "call OnProgressTimer on the delegate queue in delayMs" (asked once per
  // moment: false while that timer is pending), then performs the Commands it returns.
  bool TakeProgressTimer(int64_t* delayMs);
  Commands OnProgressTimer(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  // --- Streamed request bodies (BodySource::Stream; apple_body_stream.h) ---
  // The tasks' streams, which the engine opens in StartTask and JS writes through WriteBody: the
  // one member used on the JS thread (BodyStreams is thread-safe).
  BodyStreams& bodyStreams() { return body_streams_; }
  // needNewBodyStream:. True: hand the task the bound pair's input end; false: complete the
  // handler with nil after performing `commands` (a repeated ask: a cancel, the task fails -1021).
  bool OnNeedNewBodyStream(NsTaskId task, Commands* commands);
  // The output end of `task`'s bound pair has room: what to do (AppleBodyStream::Take). Fail also
  // puts the task's cancel in `commands` (it completes with -1021).
  AppleBodyStream::Next OnBodySpace(NsTaskId task, size_t capacity, Commands* commands);
  void OnBodyWritten(NsTaskId task, size_t bytes);
  // JS wrote while the task's writer waited: the NSURLSessionTask whose output end to write (0: none).
  NsTaskId BodyArrived(uint64_t taskIdentifier);
  // Segmented downloads of default sessions: after every call into the model, the adapter takes
  // the work it queued, creates each planned Range data task (then SegmentTaskCreated: false
  // means cancel it, no longer wanted; or SegmentTaskCreationFailed) and performs the commands,
  // until none is left.
  SegmentWork TakeSegmentWork();
  bool SegmentTaskCreated(uint64_t taskIdentifier, uint64_t segmentRequest, NsTaskId task);
  void SegmentTaskCreationFailed(uint64_t taskIdentifier, uint64_t segmentRequest);

  // For tests and the adapter's assertions.
  size_t TaskCount() const { return tasks_.size(); }

 private:
  struct Task;
  Task* Find(NsTaskId task);
  const Task* Find(NsTaskId task) const;
  Task* FindById(uint64_t taskIdentifier);
  void Post(Event event);
  void FailBeforeStart(const TaskRequest& request, int code);
  void PlanRequest(const TaskRequest& r, StartPlan* plan) const;
  StartPlan PlanRestart(NsTaskId task);
  void NoteResponse(Task& t, const ResponseHead& head);
  void PostProgress(Task& t, bool final, ProgressThrottle::Clock::time_point now = ProgressThrottle::Clock::now());
  void PostUploadProgress(Task& t, bool final,
                          ProgressThrottle::Clock::time_point now = ProgressThrottle::Clock::now());
  void NoteHeld(ProgressThrottle::Clock::time_point until);
  void RebalanceSpeeds(ProgressThrottle::Clock::time_point now);
  Commands Pace(Task& t, SpeedPacer& pacer, int64_t bytes, ProgressThrottle::Clock::time_point now);
  int VerifiedHostRefusal(const std::string& url) const;
  int BackgroundRedirectRefusal(const Task& t, const std::string& finalUrl) const;
  void Finish(NsTaskId id, Task& t, const Completion& completion);
  Commands Hold(Task& t, unsigned hold);
  Commands Release(Task& t, unsigned hold);
  void Tombstone(NsTaskId task);
  void PostTokens(EventType type, std::unordered_set<uint64_t>* tokens);
  void DropBodyStream(uint64_t taskIdentifier);
  // Segmented downloads (apple_segments.h): the hooks of the callbacks above.
  void MaybeSegment(Task& t, const ResponseHead& head);
  Task* SegmentOwner(NsTaskId task, NsTaskId* first);
  bool SegmentResponse(NsTaskId task, const ResponseHead& head);
  void SegmentData(NsTaskId task, const char* bytes, size_t length, ProgressThrottle::Clock::time_point now);
  void SegmentEnded(NsTaskId task, const Completion& completion);
  void ApplySegmentEffects(NsTaskId first, Task& t, const SegmentEffects& effects);
  void CollapsePacedSegments();

  const SessionConfig config_;
  const bool system_;
  const std::string temporary_directory_;
  EventSink* const sink_;
  const int refusal_;  // AppleConfigurationPlan::refusal: every task fails with it
  std::mutex post_mutex_;
  bool closed_ = false;        // guarded by post_mutex_
  bool invalidating_ = false;  // FinishTasksAndInvalidate / InvalidateAndCancel ran
  bool invalidated_ = false;   // didBecomeInvalidWithError: arrived
  bool shut_down_ = false;
  std::unordered_map<NsTaskId, std::unique_ptr<Task>> tasks_;
  std::unordered_map<uint64_t, NsTaskId> by_id_;
  std::unordered_map<uint64_t, std::unique_ptr<Task>> starting_;  // planned, NSURLSessionTask not yet created
  std::unordered_set<NsTaskId> tombstones_;                       // completed: late callbacks are dropped
  std::deque<NsTaskId> tombstone_order_;
  std::unordered_set<std::string> verified_hosts_;  // "host:port" this session's own trust check passed
  std::unordered_set<uint64_t> pending_resets_, pending_flushes_;
  BodyStreams body_streams_;
  SegmentWork segment_work_;
  uint64_t next_segment_request_ = 0;
  std::unordered_map<NsTaskId, uint64_t> segment_tasks_;  // a Range task -> its download's taskIdentifier
  int64_t session_speed_limit_ = 0;  // SessionConfig::maximumBytesPerSecond, then SetSpeedLimit(0, ...)
  // The earliest moment a held progress total may go out, and the one a timer is pending for.
  ProgressThrottle::Clock::time_point progress_due_ = ProgressThrottle::Clock::time_point::max();
  ProgressThrottle::Clock::time_point progress_timer_ = ProgressThrottle::Clock::time_point::max();
};

}  // namespace urlsession
