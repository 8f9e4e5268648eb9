// The macOS engine's decisions (see apple_session_model.h). Every method runs on the session's
// serial NSURLSession delegate queue, except Close(); the test program calls them from one thread.
#include "apple/apple_session_model.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "apple/apple_configuration.h"
#include "apple/apple_segments.h"
#include "apple/background_files.h"
#include "apple/task_tag.h"
#include "core/error_codes.h"
#include "core/file_ops.h"
#include "core/headers.h"
#include "core/redirect_policy.h"
#include "core/speed_shares.h"
#include "core/timeouts.h"

namespace urlsession {

namespace {

// Suspend holds: NSURLSessionTask's -suspend/-resume nest (two suspends need two resumes), so
// the task is suspended when the first hold appears and resumed when the last one goes.
constexpr unsigned kUserHold = 1;
constexpr unsigned kBackpressureHold = 2;
constexpr unsigned kPaceHold = 4;     // ahead of its speed limit: OnProgressTimer releases it
constexpr unsigned kSegmentHold = 8;  // at its segment's end until every answer is known (apple_segments.h)

// Completed tasks remembered so that their late callbacks (metrics after completion, a second
// completion) are dropped instead of re-adopting the task. Bounded: callbacks come right after.
constexpr size_t kTombstones = 4096;

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

struct UrlParts {
  std::string scheme, host;
  int port = 0;
};

// scheme://[user@]host[:port]/... -> lowercased scheme and host (IPv6 without brackets), port
// (the scheme's default when absent).
UrlParts SplitUrl(const std::string& url) {
  UrlParts parts;
  size_t colon = url.find("://");
  if (colon == std::string::npos) return parts;
  parts.scheme = Lower(url.substr(0, colon));
  size_t start = colon + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  size_t at = authority.rfind('@');
  if (at != std::string::npos) authority.erase(0, at + 1);
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    parts.host = authority.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else {
    size_t p = authority.rfind(':');
    parts.host = authority.substr(0, p);
    if (p != std::string::npos) port = authority.substr(p + 1);
  }
  parts.host = Lower(parts.host);
  parts.port = !port.empty() && std::all_of(port.begin(), port.end(), ::isdigit) ? std::atoi(port.c_str())
               : parts.scheme == "https"                                         ? 443
                                                                                 : 80;
  return parts;
}

// The completion the model decides itself (a segmented download's last segment, a cancel after
// its first task ended): no head, no resume data.
Completion CompletionWith(int code) {
  Completion completion;
  completion.code = code;
  return completion;
}

}  // namespace

struct AppleSessionModel::Task {
  Task(TaskRequest r, uint32_t intervalMs)
      : request(std::move(r)), downloadThrottle(intervalMs), uploadThrottle(intervalMs) {}
  TaskRequest request;
  NsTaskType type = NsTaskType::Data;
  std::unique_ptr<DownloadWriter> writer;       // downloads of default sessions run as data tasks
  std::unique_ptr<AppleSegments> segments;      // ... fetched in ranges by extra data tasks too
  std::unique_ptr<AppleBodyStream> bodyStream;  // BodySource::Stream
  std::string body;                             // response body of data and upload tasks
  HeaderList headers;
  std::string responseUrl;
  std::string location;        // a background download already moved into place
  std::string temporaryBody;   // a memory body written to a file for a background upload
  std::string consumedResume;  // resume-data file of ours this task was created from
  FileIdentity consumedIdentity;
  int status = 0;
  int overrideCode = 0;  // our verdict (redirect, trust, disk, limit) beats NSURLSession's -999
  int redirects = 0;
  int64_t received = 0, expected = 0, uploaded = 0, uploadExpected = 0, unacknowledged = 0;
  bool responsePosted = false;    // the Response event goes out once per task
  bool cancelRequested = false;   // JS cancelled: a completion is final, never a restart
  bool restartPending = false;    // the answer to the Range request was refused (OnComplete restarts)
  unsigned holds = 0;             // kUserHold | kBackpressureHold | kPaceHold
  bool finishedDownload = false;  // didFinishDownloadingToURL: kept the whole body: the task succeeded
  bool awaitingResumeData = false, resumeDataArrived = false, completionPending = false;
  std::string producedResumeData;
  Completion pendingCompletion;
  bool haveMetrics = false;
  TaskMetrics metrics;
  ProgressThrottle downloadThrottle, uploadThrottle;
  SpeedPacer downPacer, upPacer;  // rates from RebalanceSpeeds; unlimited in background sessions
  // Sending its body: it takes a share of the session's upload budget, not the download one.
  bool Uploading() const {
    return bodyStream ? !bodyStream->Ended() : request.bodySource != BodySource::None && uploaded < uploadExpected;
  }
};

AppleSessionModel::AppleSessionModel(const SessionConfig& config, bool system, std::string temporaryDirectory,
                                     EventSink* sink)
    : config_(config),
      system_(system),
      temporary_directory_(std::move(temporaryDirectory)),
      sink_(sink),
      refusal_(PlanConfiguration(config, system).refusal),
      session_speed_limit_(config.maximumBytesPerSecond) {}

AppleSessionModel::~AppleSessionModel() = default;

AppleSessionModel::Task* AppleSessionModel::Find(NsTaskId task) {
  auto found = tasks_.find(task);
  return found == tasks_.end() ? nullptr : found->second.get();
}

const AppleSessionModel::Task* AppleSessionModel::Find(NsTaskId task) const {
  auto found = tasks_.find(task);
  return found == tasks_.end() ? nullptr : found->second.get();
}

AppleSessionModel::Task* AppleSessionModel::FindById(uint64_t taskIdentifier) {
  auto found = by_id_.find(taskIdentifier);
  return found == by_id_.end() ? nullptr : Find(found->second);
}

// The mutex makes Close()'s promise hold: once it returned, the sink is never called again,
// even by a callback running on the delegate queue at that moment.
void AppleSessionModel::Post(Event event) {
  std::lock_guard<std::mutex> lock(post_mutex_);
  if (!closed_) sink_->Post(std::move(event));
}

void AppleSessionModel::Close() {
  std::lock_guard<std::mutex> lock(post_mutex_);
  closed_ = true;
}

// A task that cannot start still completes, with a code, like any other. A download that never
// opened its file keeps (and reports) a resumed partial file when asked to, as on Linux.
void AppleSessionModel::FailBeforeStart(const TaskRequest& request, int code) {
  Event done;
  done.type = EventType::TaskCompleted;
  done.taskIdentifier = request.taskIdentifier;
  if (request.kind == TaskKind::Download) DownloadWriter::FailUnopened(request, &done);
  DropBodyStream(request.taskIdentifier);
  done.errorCode = code;
  done.message = DescribeNSURLError(code);
  Post(std::move(done));
}

StartPlan AppleSessionModel::PlanStart(TaskRequest request) {
  StartPlan plan;
  plan.taskIdentifier = request.taskIdentifier;
  if (shut_down_) return plan;
  // A task on an invalidated session would raise an Objective-C exception; JS refuses new tasks
  // by then, this is the backstop (the curl engine cancels them the same way).
  if (invalidating_) return FailBeforeStart(request, kNSURLErrorCancelled), plan;
  if (refusal_ != 0) return FailBeforeStart(request, refusal_), plan;  // e.g. an https: proxy
  // The sessions have no URLCache (apple_foundation.mm, MakeConfiguration), so nothing can
  // answer "only-if-cached": it fails here, as on Linux, without asking the network (NSURLSession
  // would fail the load too, NSURLRequest.h, but with a code it does not document).
  if (request.cacheMode == "only-if-cached") return FailBeforeStart(request, kNSURLErrorResourceUnavailable), plan;
  // Identifiers are numbered past every recovered task (lib/task-counter.ts); a collision means
  // that promise broke, and merging two transfers under one identifier is worse than failing.
  if (by_id_.count(request.taskIdentifier) != 0 || starting_.count(request.taskIdentifier) != 0) {
    return FailBeforeStart(request, kNSURLErrorUnknown), plan;
  }
  auto t = std::make_unique<Task>(std::move(request), config_.progressIntervalMs);
  TaskRequest& r = t->request;
  PlanRequest(r, &plan);
  if (r.bodySource == BodySource::File) {
    struct stat st;
    if (stat(r.bodyPath.c_str(), &st) != 0) return FailBeforeStart(r, NSURLErrorFromErrno(errno, false)), plan;
    if (S_ISDIR(st.st_mode)) return FailBeforeStart(r, kNSURLErrorFileIsDirectory), plan;
    t->uploadExpected = static_cast<int64_t>(st.st_size);
  } else if (r.bodySource == BodySource::Memory) {
    t->uploadExpected = static_cast<int64_t>(r.bodyBytes.size());
  }
  if (r.kind == TaskKind::Download && !system_) {
    // A data task feeding DownloadWriter: resume, integrity and error pages as on Linux. Resume
    // data of a background session holds NSURLSession's blob, not bytes: start over.
    if (r.resumeValidator == kAppleResumeDataValidator) {
      DiscardPartialFile(r.resumePartialPath, FileIdentity::Parse(r.resumeIdentity));
      r.resumePartialPath.clear();
      r.resumeIdentity.clear();
      r.resumeValidator.clear();
      r.resumeOffset = 0;
    }
    t->writer = std::make_unique<DownloadWriter>(t->request);
    int code = t->writer->Open();
    if (code != 0) {
      Event done;
      done.type = EventType::TaskCompleted;
      done.taskIdentifier = r.taskIdentifier;
      t->writer->Fail(code, &done);
      done.errorCode = code;
      done.message = DescribeNSURLError(code);
      Post(std::move(done));
      return plan;
    }
    // Range, If-Range and Accept-Encoding: identity (NSURLSession keeps an Accept-Encoding the
    // request sets, instead of its own gzip, deflate, br): the kept bytes are decoded content.
    t->writer->AddResumeHeaders(&plan.headers);
    plan.type = NsTaskType::Data;
  } else if (r.kind == TaskKind::Download) {
    plan.type = NsTaskType::Download;
    FileIdentity identity = FileIdentity::Parse(r.resumeIdentity);
    if (r.resumeValidator == kAppleResumeDataValidator && identity.Known() &&
        ReadOwnFile(r.resumePartialPath, &identity, &plan.resumeData) && !plan.resumeData.empty()) {
      plan.type = NsTaskType::DownloadWithResumeData;
      t->consumedResume = r.resumePartialPath;
      t->consumedIdentity = identity;
    } else if (!r.resumePartialPath.empty()) {
      // A portable partial file (or resume data gone bad): nsurlsessiond cannot continue it and
      // starts over, so nothing would ever remove it.
      plan.resumeData.clear();
      DiscardPartialFile(r.resumePartialPath, identity);
    }
  } else if (r.bodySource == BodySource::None) {
    // Background sessions run data tasks as download tasks (they take no data tasks).
    plan.type = system_ ? NsTaskType::Download : NsTaskType::Data;
  } else if (r.bodySource == BodySource::File) {
    plan.type = NsTaskType::UploadFromFile;
    plan.uploadFile = r.bodyPath;
  } else if (r.bodySource == BodySource::Stream) {
    // Background sessions upload from files only (NSURLSession.h), and a stream from JS could not
    // outlive this process anyway.
    std::shared_ptr<BodyStream> stream = body_streams_.Find(r.taskIdentifier);
    if (system_ || !stream) return FailBeforeStart(r, kNSURLErrorRequestBodyStreamExhausted), plan;
    t->bodyStream = std::make_unique<AppleBodyStream>(std::move(stream));
    t->uploadExpected = std::max<int64_t>(0, r.streamedBodyLength);
    // Without one NSURLSession sends a body stream chunked; with one, exactly that many bytes.
    if (r.streamedBodyLength >= 0) plan.headers.emplace_back("Content-Length", std::to_string(r.streamedBodyLength));
    plan.type = NsTaskType::UploadStreamed;
  } else if (system_) {
    // Background sessions upload from files only: the body goes to a private file that lives
    // until the task completes, in this process or (named in the tag) in a later one.
    int code = WriteTemporaryBody(temporary_directory_, r.bodyBytes, &t->temporaryBody);
    if (code != 0) return FailBeforeStart(r, code), plan;
    plan.type = NsTaskType::UploadFromFile;
    plan.uploadFile = t->temporaryBody;
  } else {
    plan.type = NsTaskType::UploadFromData;
    plan.uploadBytes = std::move(r.bodyBytes);  // NSURLSession keeps its own copy
  }
  t->type = plan.type;
  plan.tag = EncodeTaskTag(TagOf(r, t->temporaryBody));
  plan.create = true;
  starting_[r.taskIdentifier] = std::move(t);
  return plan;
}

RequestCachePolicy CachePolicyOf(const std::string& cacheMode) {
  if (cacheMode == "default") return RequestCachePolicy::UseProtocolCachePolicy;
  if (cacheMode == "no-store" || cacheMode == "reload") return RequestCachePolicy::ReloadIgnoringLocalCacheData;
  if (cacheMode == "no-cache") return RequestCachePolicy::ReloadRevalidatingCacheData;
  if (cacheMode == "force-cache") return RequestCachePolicy::ReturnCacheDataElseLoad;
  if (cacheMode == "only-if-cached") return RequestCachePolicy::ReturnCacheDataDontLoad;
  return RequestCachePolicy::Session;
}

// What every request of `r` carries, also when a refused resume goes again from zero.
void AppleSessionModel::PlanRequest(const TaskRequest& r, StartPlan* plan) const {
  plan->url = r.url;
  plan->method = r.method;
  plan->priority = static_cast<float>(std::clamp(r.priority, 0.0, 1.0));
  // 0: the session's timeout; Infinity (and past about three years): none (core/timeouts.h).
  plan->timeout = r.timeout > 0 && !IsTimeout(r.timeout) ? kNoTimeoutSeconds : r.timeout;
  plan->handleCookies = !r.omitCredentials;
  plan->cachePolicy = CachePolicyOf(r.cacheMode);
  plan->headers = r.headers;
  for (const auto& header : config_.additionalHeaders) {
    // HTTPAdditionalHeaders cannot carry these (apple_configuration.h): each request does.
    std::string name = Lower(header.first);
    bool present =
        std::any_of(r.headers.begin(), r.headers.end(), [&](const auto& h) { return Lower(h.first) == name; });
    if (IsPerRequestHeader(name) && !present) plan->headers.push_back(header);  // per-request headers win
  }
}

void AppleSessionModel::TaskCreated(uint64_t taskIdentifier, NsTaskId task) {
  auto found = starting_.find(taskIdentifier);
  if (found == starting_.end()) return;
  std::unique_ptr<Task> t = std::move(found->second);
  starting_.erase(found);
  // NSURLSession holds its own copy of the resume data now; ours is spent.
  if (!t->consumedResume.empty()) DiscardPartialFile(t->consumedResume, t->consumedIdentity);
  by_id_[taskIdentifier] = task;
  tasks_[task] = std::move(t);
  RebalanceSpeeds(ProgressThrottle::Clock::now());
}

void AppleSessionModel::TaskCreationFailed(uint64_t taskIdentifier, int code) {
  auto found = starting_.find(taskIdentifier);
  if (found == starting_.end()) return;
  std::unique_ptr<Task> t = std::move(found->second);
  starting_.erase(found);
  RemoveTemporaryBody(temporary_directory_, t->temporaryBody);
  if (!t->writer) return FailBeforeStart(t->request, code);
  Event done;
  done.type = EventType::TaskCompleted;
  done.taskIdentifier = taskIdentifier;
  t->writer->Fail(code, &done);  // keeps a resumed partial file when asked to, as on Linux
  done.errorCode = code;
  done.message = DescribeNSURLError(code);
  Post(std::move(done));
}

Commands AppleSessionModel::Cancel(uint64_t taskIdentifier) {
  auto found = by_id_.find(taskIdentifier);
  Task* t = found == by_id_.end() ? nullptr : Find(found->second);
  // Unknown (completed already) or finished: the whole body is kept, the cancel comes too late
  // and the task reports its success (as the curl engine does for a cancel after the last byte).
  if (t == nullptr || t->finishedDownload || t->awaitingResumeData) return {};  // once
  t->cancelRequested = true;
  if (t->segments) {
    t->segments->CancelAll();
    // Its own NSURLSessionTask is over (its segment done): nothing would complete the task.
    if (t->segments->FirstDone()) return Finish(found->second, *t, CompletionWith(kNSURLErrorCancelled)), Commands();
  }
  bool download = t->type == NsTaskType::Download || t->type == NsTaskType::DownloadWithResumeData;
  if (system_ && download && t->request.kind == TaskKind::Download && t->request.keepPartialOnFailure) {
    t->awaitingResumeData = true;
    return {{TaskAction::CancelProducingResumeData, found->second}};
  }
  return {{TaskAction::Cancel, found->second}};
}

Commands AppleSessionModel::Hold(Task& t, unsigned hold) {
  unsigned before = t.holds;
  t.holds |= hold;
  if (before != 0 || t.holds == 0) return {};
  return {{TaskAction::Suspend, by_id_[t.request.taskIdentifier]}};
}

Commands AppleSessionModel::Release(Task& t, unsigned hold) {
  if ((t.holds & hold) == 0) return {};
  t.holds &= ~hold;
  if (t.holds != 0) return {};
  return {{TaskAction::Resume, by_id_[t.request.taskIdentifier]}};
}

Commands AppleSessionModel::Suspend(uint64_t taskIdentifier) {
  Task* t = FindById(taskIdentifier);
  if (t == nullptr) return {};
  Commands commands = Hold(*t, kUserHold);
  if (t->segments) t->segments->SetSuspended(true);
  RebalanceSpeeds(ProgressThrottle::Clock::now());  // its share goes to the others
  return commands;
}

Commands AppleSessionModel::Resume(uint64_t taskIdentifier) {
  Task* t = FindById(taskIdentifier);
  if (t == nullptr) return {};
  Commands commands = Release(*t, kUserHold);
  if (t->segments) t->segments->SetSuspended(false);
  RebalanceSpeeds(ProgressThrottle::Clock::now());
  return commands;
}

void AppleSessionModel::SetSpeedLimit(uint64_t taskIdentifier, int64_t bytesPerSecond,
                                      ProgressThrottle::Clock::time_point now) {
  if (taskIdentifier == 0) {
    session_speed_limit_ = bytesPerSecond;
  } else if (Task* t = FindById(taskIdentifier)) {
    t->request.maximumBytesPerSecond = bytesPerSecond;
  } else if (auto found = starting_.find(taskIdentifier); found != starting_.end()) {
    found->second->request.maximumBytesPerSecond = bytesPerSecond;
  }
  RebalanceSpeeds(now);
  CollapsePacedSegments();
}

// The session's budgets shared among its running tasks that the user has not suspended, as the
// curl engine shares them (core/speed_shares.h): one sending its body takes an upload share and
// keeps its own limit (at most the session's) for the response; one receiving takes a download
// share. A task held by its pacer may now go on sooner: its moment goes to the progress timer.
void AppleSessionModel::RebalanceSpeeds(ProgressThrottle::Clock::time_point now) {
  if (system_) return;
  std::vector<Task*> receiving, sending;
  std::vector<int64_t> receivingLimits, sendingLimits;
  for (auto& entry : tasks_) {
    Task& t = *entry.second;
    if ((t.holds & kUserHold) != 0 || t.overrideCode != 0) continue;
    (t.Uploading() ? sending : receiving).push_back(&t);
    (t.Uploading() ? sendingLimits : receivingLimits).push_back(t.request.maximumBytesPerSecond);
  }
  auto capped = [this](int64_t own) {
    if (session_speed_limit_ <= 0) return own;
    return own > 0 ? std::min(own, session_speed_limit_) : session_speed_limit_;
  };
  std::vector<int64_t> down = ShareSpeed(session_speed_limit_, receivingLimits);
  for (size_t i = 0; i < receiving.size(); ++i) {
    receiving[i]->downPacer.SetRate(down[i], now);
    receiving[i]->upPacer.SetRate(capped(receivingLimits[i]), now);
  }
  std::vector<int64_t> up = ShareSpeed(session_speed_limit_, sendingLimits);
  for (size_t i = 0; i < sending.size(); ++i) {
    sending[i]->downPacer.SetRate(capped(sendingLimits[i]), now);
    sending[i]->upPacer.SetRate(up[i], now);
  }
  for (auto& entry : tasks_) {
    Task& t = *entry.second;
    if ((t.holds & kPaceHold) != 0) NoteHeld(std::max(t.downPacer.ReadyAt(), t.upPacer.ReadyAt()));
  }
}

// After `bytes` moved in the direction `pacer` keeps: a task now ahead of its rate is suspended
// (NSURLSession cannot refuse bytes, but a suspended task stops reading and sending) until the
// progress timer finds its pacer ready.
Commands AppleSessionModel::Pace(Task& t, SpeedPacer& pacer, int64_t bytes, ProgressThrottle::Clock::time_point now) {
  if (!pacer.Limited()) return {};
  pacer.Consumed(bytes, now);
  if (pacer.Ready(now)) return {};
  NoteHeld(pacer.ReadyAt());
  return Hold(t, kPaceHold);
}

Commands AppleSessionModel::Acknowledge(uint64_t taskIdentifier, int64_t bytes) {
  Task* t = FindById(taskIdentifier);
  if (t == nullptr) return {};
  t->unacknowledged = std::max<int64_t>(0, t->unacknowledged - bytes);
  if (t->unacknowledged > kStreamHighWaterBytes / 2) return {};
  return Release(*t, kBackpressureHold);
}

// An invalidating session takes no new NSURLSessionTask: segments start no more requests.
bool AppleSessionModel::FinishTasksAndInvalidate() {
  if (shut_down_ || invalidating_) return false;
  invalidating_ = true;
  for (auto& entry : tasks_) {
    if (entry.second->segments) entry.second->segments->StopStarting();
  }
  return true;
}

bool AppleSessionModel::InvalidateAndCancel() {
  if (shut_down_) return false;
  invalidating_ = true;  // also after finishTasksAndInvalidate: cancels what still runs
  for (auto& entry : tasks_) {
    if (entry.second->segments) entry.second->segments->StopStarting();
  }
  return true;
}

void AppleSessionModel::PostTokens(EventType type, std::unordered_set<uint64_t>* tokens) {
  for (uint64_t token : *tokens) {
    Event event;
    event.type = type;
    event.token = token;
    Post(std::move(event));
  }
  tokens->clear();
}

// resetWithCompletionHandler: invokes its handler on the delegate queue (NSURLSession.h); an
// invalidation may overtake it, and an invalidated session never calls it: OnInvalidated
// answers every pending token, and a token is answered once.
bool AppleSessionModel::Reset(uint64_t token) {
  if (!invalidated_ && !shut_down_) return pending_resets_.insert(token), true;
  std::unordered_set<uint64_t> now{token};
  PostTokens(EventType::ResetCompleted, &now);
  return false;
}

bool AppleSessionModel::Flush(uint64_t token) {
  if (!invalidated_ && !shut_down_) return pending_flushes_.insert(token), true;
  std::unordered_set<uint64_t> now{token};
  PostTokens(EventType::FlushCompleted, &now);
  return false;
}

void AppleSessionModel::OnResetDone(uint64_t token) {
  if (pending_resets_.erase(token) == 0) return;
  std::unordered_set<uint64_t> one{token};
  PostTokens(EventType::ResetCompleted, &one);
}

void AppleSessionModel::OnFlushDone(uint64_t token) {
  if (pending_flushes_.erase(token) == 0) return;
  std::unordered_set<uint64_t> one{token};
  PostTokens(EventType::FlushCompleted, &one);
}

// NSURLSession calls didBecomeInvalidWithError: only after every task's didCompleteWithError.
void AppleSessionModel::OnInvalidated() {
  if (invalidated_) return;
  invalidated_ = true;
  PostTokens(EventType::ResetCompleted, &pending_resets_);
  PostTokens(EventType::FlushCompleted, &pending_flushes_);
  Event event;
  event.type = EventType::SessionInvalidated;
  Post(std::move(event));
}

void AppleSessionModel::OnBackgroundEventsDelivered() {
  Event event;
  event.type = EventType::BackgroundEventsDelivered;
  Post(std::move(event));
}

bool AppleSessionModel::Shutdown() {
  Close();
  if (shut_down_) return false;
  shut_down_ = true;
  // A background session's transfers continue in nsurlsessiond and are found again at the next
  // launch: their temporary bodies must stay, and the session is never invalidated (the model
  // keeps moving finished downloads into place, silently, while this process lives).
  if (system_) return false;
  for (auto& entry : starting_) DropBodyStream(entry.first);
  for (auto& entry : tasks_) {
    DropBodyStream(entry.second->request.taskIdentifier);
    if (entry.second->writer) entry.second->writer->AbandonAtShutdown(config_.persistent);
    RemoveTemporaryBody(temporary_directory_, entry.second->temporaryBody);
  }
  tasks_.clear();
  starting_.clear();
  by_id_.clear();
  segment_tasks_.clear();
  segment_work_ = SegmentWork();
  return true;
}

void AppleSessionModel::Tombstone(NsTaskId task) {
  if (!tombstones_.insert(task).second) return;
  tombstone_order_.push_back(task);
  if (tombstone_order_.size() > kTombstones) {
    tombstones_.erase(tombstone_order_.front());
    tombstone_order_.pop_front();
  }
}

bool AppleSessionModel::NeedsAdoption(NsTaskId task) const {
  return system_ && tasks_.count(task) == 0 && tombstones_.count(task) == 0;
}

// A task of an earlier process that nsurlsessiond kept, found by getAllTasksWithCompletionHandler:
// or by its first callback (which may come first; a finished download's file is deleted when
// didFinishDownloadingToURL: returns, so every callback adopts).
Commands AppleSessionModel::OnRecoveredTask(NsTaskId task, const std::string& tagText, const std::string& url,
                                            const std::string& method, bool suspended) {
  if (!NeedsAdoption(task)) return {};
  TaskTag tag;
  if (!DecodeTaskTag(tagText, &tag)) {
    Tombstone(task);  // not ours (or damaged): its callbacks are ignored from now on
    return {};
  }
  if (by_id_.count(tag.taskIdentifier) != 0 || starting_.count(tag.taskIdentifier) != 0) {
    // A task of this process has the identifier already (the persisted counter was lost):
    // merging two transfers under one identifier is worse than giving up the old one.
    Tombstone(task);
    return {{TaskAction::Cancel, task}};
  }
  auto t = std::make_unique<Task>(RequestOf(tag, url, method), config_.progressIntervalMs);
  t->temporaryBody = tag.temporaryBody;
  t->type =
      tag.kind == TaskKind::Upload || !tag.temporaryBody.empty() ? NsTaskType::UploadFromFile : NsTaskType::Download;
  Event event;
  event.type = EventType::TaskRecovered;
  event.taskIdentifier = tag.taskIdentifier;
  event.url = url;
  event.kind = tag.kind;
  event.taskDescription = tag.taskDescription;
  by_id_[tag.taskIdentifier] = task;
  tasks_[task] = std::move(t);
  Post(std::move(event));
  // JS shows the recovered task as running and holds nothing on it: a task an earlier process
  // left suspended would otherwise never move again.
  if (suspended) return {{TaskAction::Resume, task}};
  return {};
}

bool AppleSessionModel::ResponsePending(NsTaskId task) const {
  const Task* t = Find(task);
  return t != nullptr && !t->responsePosted && t->overrideCode == 0;
}

// Records the final response head and posts the Response event, once per task.
void AppleSessionModel::NoteResponse(Task& t, const ResponseHead& head) {
  if (t.responsePosted) return;
  t.responsePosted = true;
  t.status = head.status;
  t.headers = head.headers;
  t.responseUrl = head.url;
  Event event;
  event.type = EventType::Response;
  event.taskIdentifier = t.request.taskIdentifier;
  event.statusCode = t.status;
  event.expectedBytes = t.expected;
  event.responseHeaders = t.headers;
  if (t.request.kind == TaskKind::Download) event.validator = ResumeValidator(t.headers);
  event.url = t.responseUrl;
  Post(std::move(event));
}

// Download progress, throttled; `final` always reports a changed total (before completion).
// The total counts an error page being captured too, as the curl engine does. A held total is
// reported by OnProgressTimer.
void AppleSessionModel::PostProgress(Task& t, bool final, ProgressThrottle::Clock::time_point now) {
  if (t.request.kind != TaskKind::Download) return;
  int64_t total = t.writer ? t.writer->BytesOnDisk() + (t.writer->CapturingErrorBody() ? t.received : 0) : t.received;
  if (!t.downloadThrottle.ShouldReport(total, final, now)) return NoteHeld(t.downloadThrottle.HeldUntil());
  Event event;
  event.type = EventType::DownloadProgress;
  event.taskIdentifier = t.request.taskIdentifier;
  event.totalBytes = total;
  event.expectedBytes = t.expected;
  // What the journal keeps to resume every segment from its own offset (as on Linux).
  if (t.writer && t.writer->Segmented()) event.segments = t.writer->Segments().ToString();
  Post(std::move(event));
}

void AppleSessionModel::PostUploadProgress(Task& t, bool final, ProgressThrottle::Clock::time_point now) {
  if (t.request.bodySource == BodySource::None && t.uploaded == 0) return;
  if (!t.uploadThrottle.ShouldReport(t.uploaded, final, now)) return NoteHeld(t.uploadThrottle.HeldUntil());
  Event event;
  event.type = EventType::UploadProgress;
  event.taskIdentifier = t.request.taskIdentifier;
  event.totalBytes = t.uploaded;
  event.expectedBytes = t.uploadExpected;
  Post(std::move(event));
}

void AppleSessionModel::NoteHeld(ProgressThrottle::Clock::time_point until) {
  progress_due_ = std::min(progress_due_, until);
}

bool AppleSessionModel::TakeProgressTimer(int64_t* delayMs) {
  if (progress_due_ == ProgressThrottle::Clock::time_point::max() || progress_timer_ <= progress_due_) return false;
  progress_timer_ = progress_due_;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(progress_due_ - ProgressThrottle::Clock::now()).count();
  *delayMs = std::max<int64_t>(0, left);
  return true;
}

// Every held total whose interval has passed goes out, and every task its pacer held back and
// now allows is resumed; the rest ask for the next timer.
Commands AppleSessionModel::OnProgressTimer(ProgressThrottle::Clock::time_point now) {
  progress_due_ = progress_timer_ = ProgressThrottle::Clock::time_point::max();
  Commands commands;
  for (auto& entry : tasks_) {
    Task& t = *entry.second;
    if (t.overrideCode != 0) continue;  // being cancelled: its bytes are dropped
    if (t.downloadThrottle.Holding()) PostProgress(t, false, now);
    if (t.uploadThrottle.Holding()) PostUploadProgress(t, false, now);
    if ((t.holds & kPaceHold) == 0) continue;
    if (t.downPacer.Ready(now) && t.upPacer.Ready(now)) {
      for (const Command& c : Release(t, kPaceHold)) commands.push_back(c);
    } else {
      NoteHeld(std::max(t.downPacer.ReadyAt(), t.upPacer.ReadyAt()));
    }
  }
  return commands;
}

bool AppleSessionModel::RefusesServerCredentials(NsTaskId task) const {
  const Task* t = Find(task);
  return t != nullptr && t->request.omitCredentials;
}

bool AppleSessionModel::ChecksServerTrust() const {
  return !config_.tls.caPem.empty() || !config_.tls.pinnedSpkiSha256.empty();
}

// A session with its own CA or pins accepts an HTTPS response only from a host whose chain it
// verified itself: a TLS session resumed from the per-process cache (Apple QA1727) skips the
// server-trust challenge, so another session's verified connection must not count.
int AppleSessionModel::VerifiedHostRefusal(const std::string& url) const {
  if (!ChecksServerTrust()) return 0;
  UrlParts parts = SplitUrl(url);
  if (parts.scheme != "https") return 0;
  return verified_hosts_.count(parts.host + ":" + std::to_string(parts.port)) != 0
             ? 0
             : kNSURLErrorServerCertificateUntrusted;
}

// Background sessions follow every redirect themselves and never ask (NSURLSession.h: "For
// tasks in background sessions, redirections will always be followed and this method will not
// be called"): the redirect policy is enforced on the final URL and the metrics' redirect count.
int AppleSessionModel::BackgroundRedirectRefusal(const Task& t, const std::string& finalUrl) const {
  if (!system_ || finalUrl.empty()) return 0;
  return RedirectRefusal(t.request.url, finalUrl, t.haveMetrics ? t.metrics.redirectCount : 0, config_);
}

bool AppleSessionModel::OnResponse(NsTaskId task, const ResponseHead& head) {
  if (segment_tasks_.count(task) != 0) return SegmentResponse(task, head);
  Task* t = Find(task);
  // overrideCode: a refused redirect or a trust failure already decided how this task ends.
  if (t == nullptr || t->overrideCode != 0) return false;
  int refusal = VerifiedHostRefusal(head.url);
  if (refusal == 0) refusal = BackgroundRedirectRefusal(*t, head.url);
  if (refusal != 0) {
    t->overrideCode = refusal;
    return false;
  }
  int64_t length = DeliveredLength(head.headers, head.expectedLength);  // decoded bytes: unknown
  t->expected = length > 0 ? length : 0;
  if (t->writer) {
    if (!t->writer->BeginResponse(head.status, head.headers, head.expectedLength)) {
      // An answer to the Range request that cannot continue the kept bytes: this task is
      // cancelled and OnComplete sends the request again from zero (the code stands if not).
      t->restartPending = t->writer->RestartWanted();
      t->overrideCode = kNSURLErrorBadServerResponse;
      return false;
    }
    t->expected = t->writer->ExpectedBytes();
  } else if (!t->request.streamBody && t->request.BodyExceedsLimit(0, length)) {
    // A declared length over maximumResponseSize fails before a byte is kept (as on Linux).
    t->overrideCode = kNSURLErrorDataLengthExceedsMaximum;
    return false;
  }
  NoteResponse(*t, head);
  if (t->writer) MaybeSegment(*t, head);
  return true;
}

Commands AppleSessionModel::OnData(NsTaskId task, const char* bytes, size_t length,
                                   ProgressThrottle::Clock::time_point now) {
  if (segment_tasks_.count(task) != 0) return SegmentData(task, bytes, length, now), Commands();
  Task* t = Find(task);
  if (t == nullptr || t->overrideCode != 0) return {};  // the task is being cancelled: drop the bytes
  SegmentEffects effects;
  if (t->segments) {
    // The first segment's task: only what falls within its segment is written.
    if (t->segments->FirstData(bytes, length, &effects) < 0) effects.failure = t->writer->WriteFailureCode();
  } else if (t->request.streamBody) {
    Event event;
    event.type = EventType::BodyData;
    event.taskIdentifier = t->request.taskIdentifier;
    event.responseBody.assign(bytes, length);
    Post(std::move(event));
    t->unacknowledged += static_cast<int64_t>(length);
  } else if (t->writer) {
    if (!t->writer->Write(bytes, length)) {
      t->overrideCode = t->writer->WriteFailureCode();
      return {{TaskAction::Cancel, task}};
    }
  } else if (t->request.BodyExceedsLimit(static_cast<int64_t>(t->body.size()), static_cast<int64_t>(length))) {
    // Bodies kept in memory are bounded (a gzip bomb inflates without limit): fail, free it.
    t->overrideCode = kNSURLErrorDataLengthExceedsMaximum;
    std::string().swap(t->body);
    return {{TaskAction::Cancel, task}};
  } else {
    t->body.append(bytes, length);
  }
  t->received += static_cast<int64_t>(length);
  PostProgress(*t, false, now);
  Commands commands = Pace(*t, t->downPacer, static_cast<int64_t>(length), now);
  // NSURLSession cannot refuse bytes, but a suspended task stops reading from the socket.
  if (t->request.streamBody && t->unacknowledged >= kStreamHighWaterBytes) {
    for (const Command& c : Hold(*t, kBackpressureHold)) commands.push_back(c);
  }
  if (t->segments) ApplySegmentEffects(task, *t, effects);  // may finish the task: t is gone then
  return commands;
}

Commands AppleSessionModel::OnBodySent(NsTaskId task, int64_t totalSent, int64_t totalExpected,
                                       ProgressThrottle::Clock::time_point now) {
  Task* t = Find(task);
  if (t == nullptr) return {};
  int64_t sent = totalSent - t->uploaded;  // less than 0 when a redirect sends the body again
  bool wasUploading = t->Uploading();
  t->uploaded = totalSent;
  // NSURLSessionTransferSizeUnknown (-1) when NSURLSession does not know: keep our own size.
  if (totalExpected > 0) t->uploadExpected = totalExpected;
  PostUploadProgress(*t, totalSent == totalExpected, now);
  Commands commands = Pace(*t, t->upPacer, sent, now);
  // The body is all sent: the task moves from the upload budget to the download one.
  if (wasUploading != t->Uploading()) RebalanceSpeeds(now);
  return commands;
}

Commands AppleSessionModel::OnDownloadProgress(NsTaskId task, int64_t totalWritten, int64_t totalExpected,
                                               const ResponseHead* head) {
  Task* t = Find(task);
  if (t == nullptr || t->overrideCode != 0) return {};
  t->received = totalWritten;
  // NSURLSessionTransferSizeUnknown (-1) is 0; so is the Content-Length of a coded body, which
  // counts coded bytes while the file holds decoded ones.
  t->expected = IsContentCoded(head != nullptr ? head->headers : t->headers) ? 0 : std::max<int64_t>(0, totalExpected);
  if (head != nullptr && !t->responsePosted) {
    int refusal = VerifiedHostRefusal(head->url);
    if (refusal == 0) refusal = BackgroundRedirectRefusal(*t, head->url);
    if (refusal != 0) {
      t->overrideCode = refusal;
      return {{TaskAction::Cancel, task}};
    }
    NoteResponse(*t, *head);
  }
  PostProgress(*t, false);
  return {};
}

// The file at tempPath is deleted when didFinishDownloadingToURL: returns: it is moved into
// place now, synchronously (DownloadWriter::AdoptFinishedFile renames it, or copies it across
// volumes). DownloadCompleted waits for the completion, which then reports success whatever
// error it carries (a cancel that raced the last byte): the file is complete and in place.
void AppleSessionModel::OnFinishedDownload(NsTaskId task, const std::string& tempPath, const ResponseHead& head) {
  Task* t = Find(task);
  if (t == nullptr || t->overrideCode != 0) return;
  if (!t->responsePosted) {
    int refusal = VerifiedHostRefusal(head.url);
    if (refusal != 0) {
      t->overrideCode = refusal;
      return;
    }
  }
  NoteResponse(*t, head);
  int refusal = BackgroundRedirectRefusal(*t, t->responseUrl);
  if (refusal != 0) {
    t->overrideCode = refusal;
    return;
  }
  if (t->request.kind != TaskKind::Download) {
    // Data tasks run as downloads in background sessions: the body comes from the file, into
    // memory or, for stream: true, as BodyData chunks (without backpressure: it is on disk).
    std::string body;
    if (!ReadOwnFile(tempPath, nullptr, &body)) {
      t->overrideCode = kNSURLErrorCannotOpenFile;
      return;
    }
    if (!t->request.streamBody && t->request.BodyExceedsLimit(0, static_cast<int64_t>(body.size()))) {
      t->overrideCode = kNSURLErrorDataLengthExceedsMaximum;
      return;
    }
    t->received = static_cast<int64_t>(body.size());
    if (t->request.streamBody) {
      for (size_t at = 0; at < body.size(); at += 65536) {
        Event event;
        event.type = EventType::BodyData;
        event.taskIdentifier = t->request.taskIdentifier;
        event.responseBody = body.substr(at, 65536);
        Post(std::move(event));
      }
    } else {
      t->body = std::move(body);
    }
    t->finishedDownload = true;
    return;
  }
  DownloadWriter adopter(t->request);
  int code = adopter.AdoptFinishedFile(tempPath, t->status, t->headers, t->responseUrl, &t->location);
  if (code != 0) {
    t->overrideCode = code;
    return;
  }
  if (adopter.CapturingErrorBody()) t->body = adopter.ErrorBody();
  t->finishedDownload = true;
}

bool AppleSessionModel::OnRedirect(NsTaskId task, int status, const std::string& fromUrl, const std::string& toUrl,
                                   Commands* commands) {
  Task* t = Find(task);
  if (t == nullptr) return false;
  // Not a status tasks follow (300, 305, 306, ...), or a task that follows none: declined
  // without a cancel, the response is the answer and its body the task's.
  if (t->request.manualRedirects || !FollowsRedirectStatus(status)) return false;
  int refusal = RedirectRefusal(fromUrl, toUrl, ++t->redirects, config_);
  if (refusal == 0) return true;
  // Refused: cancel first, then decline. Declining alone would deliver the 3xx as the final
  // response; overrideCode makes the other callbacks ignore it and replaces the cancel's -999.
  t->overrideCode = refusal;
  commands->push_back({TaskAction::Cancel, task});
  return false;
}

TrustVerdict AppleSessionModel::OnServerTrust(NsTaskId task, const TrustEvaluation& evaluation) {
  if (!ChecksServerTrust()) return TrustVerdict::DefaultHandling;
  const TlsOptions& tls = config_.tls;
  int refusal = evaluation.trusted
                    ? 0
                    : (evaluation.failureCode != 0 ? evaluation.failureCode : kNSURLErrorServerCertificateUntrusted);
  if (refusal == 0 && !tls.pinnedSpkiSha256.empty() &&
      (evaluation.spkiPin.empty() || std::find(tls.pinnedSpkiSha256.begin(), tls.pinnedSpkiSha256.end(),
                                               evaluation.spkiPin) == tls.pinnedSpkiSha256.end())) {
    refusal = kNSURLErrorServerCertificateUntrusted;
  }
  if (refusal != 0) {
    // Cancelling the challenge fails the task with -999; overrideCode reports the real reason.
    if (Task* t = Find(task)) t->overrideCode = refusal;
    return TrustVerdict::Reject;
  }
  verified_hosts_.insert(Lower(evaluation.host) + ":" + std::to_string(evaluation.port));
  return TrustVerdict::UseCredential;
}

// Metrics come before the completion on the happy path, but may come after it or twice
// (Alamofire handles both): a live task keeps the latest, a completed one drops them.
void AppleSessionModel::OnMetrics(NsTaskId task, const TaskMetrics& metrics) {
  Task* t = Find(task);
  if (t == nullptr) return;
  t->metrics = metrics;
  t->haveMetrics = true;
}

void AppleSessionModel::OnResumeDataProduced(NsTaskId task, const std::string& resumeData) {
  Task* t = Find(task);
  if (t == nullptr || t->resumeDataArrived) return;
  t->resumeDataArrived = true;
  t->producedResumeData = resumeData;
  if (t->completionPending) Finish(task, *t, t->pendingCompletion);
}

StartPlan AppleSessionModel::OnComplete(NsTaskId task, const Completion& completion) {
  if (segment_tasks_.count(task) != 0) return SegmentEnded(task, completion), StartPlan();
  Task* t = Find(task);
  if (t == nullptr) return {};  // completed already, or never ours: nothing to report
  if (t->segments && t->overrideCode == 0) {
    // The first segment's task ended; the download may go on with its other segments.
    SegmentEffects effects;
    if (t->segments->FirstEnded(completion.code, t->cancelRequested, &effects)) {
      ApplySegmentEffects(task, *t, effects);
      return {};
    }
  }
  // cancelByProducingResumeData:'s handler and didCompleteWithError: come in either order:
  // the completion waits for the resume data.
  if (t->awaitingResumeData && !t->resumeDataArrived && !t->finishedDownload) {
    t->completionPending = true;
    t->pendingCompletion = completion;
    return {};
  }
  // Resuming is the download's own business and never fails it (as in the curl engine): a
  // refused answer to the Range request becomes the same request again, from an empty file.
  // Not on an invalidating session, which takes no new NSURLSessionTask: the code stands.
  if (t->restartPending && t->cancelRequested) t->overrideCode = 0;  // the user's cancel: -999
  if (t->restartPending && !t->cancelRequested && !invalidating_ && !shut_down_) {
    if (t->writer->RestartFromZero()) return PlanRestart(task);
    t->overrideCode = t->writer->WriteFailureCode();
  }
  Finish(task, *t, completion);
  return {};
}

// The refused NSURLSessionTask is done with; the task waits in starting_ for its new one (the
// adapter creates it at once and calls TaskCreated), with its holds: a task the user suspended
// is created suspended and resumed by the Release that ends its last hold.
StartPlan AppleSessionModel::PlanRestart(NsTaskId task) {
  std::unique_ptr<Task> t = std::move(tasks_[task]);
  tasks_.erase(task);
  by_id_.erase(t->request.taskIdentifier);
  Tombstone(task);
  t->status = 0;
  t->overrideCode = 0;
  t->redirects = 0;
  t->received = 0;
  t->expected = 0;
  t->responsePosted = false;
  t->restartPending = false;
  t->haveMetrics = false;
  t->metrics = TaskMetrics();
  t->headers.clear();
  t->responseUrl.clear();
  StartPlan plan;
  plan.taskIdentifier = t->request.taskIdentifier;
  PlanRequest(t->request, &plan);
  t->writer->AddResumeHeaders(&plan.headers);  // nothing: no bytes are kept now
  plan.type = NsTaskType::Data;
  plan.tag = EncodeTaskTag(TagOf(t->request, t->temporaryBody));
  plan.startSuspended = t->holds != 0;
  plan.create = true;
  starting_[plan.taskIdentifier] = std::move(t);
  return plan;
}

// The last word on a task: DownloadCompleted, then TaskCompleted; the task becomes a tombstone.
void AppleSessionModel::Finish(NsTaskId id, Task& t, const Completion& c) {
  if (t.segments) t.segments->CancelAll();
  int code = t.overrideCode;
  std::string message;
  if (code == 0 && !t.finishedDownload && c.code != 0) {
    code = c.code;
    message = c.message;
  }
  if (!t.responsePosted && c.haveHead && t.overrideCode == 0) {  // download tasks that failed early
    int refusal = code == 0 ? VerifiedHostRefusal(c.head.url) : 0;
    if (refusal != 0)
      code = refusal;
    else
      NoteResponse(t, c.head);
  }
  if (t.status == 0 && c.haveHead) t.status = c.head.status;
  if (code == 0) code = BackgroundRedirectRefusal(t, t.responseUrl.empty() ? c.currentUrl : t.responseUrl);
  if (code != 0 && !t.location.empty()) {
    unlink(t.location.c_str());  // placed before the metrics showed too many redirects
    t.location.clear();
  }
  if (code == 0) {
    // Whatever the throttle held back: the final totals go out before the completion (as in
    // the curl engine: on success, and for downloads only when bytes arrived).
    PostUploadProgress(t, true);
    if (t.received > 0 || t.request.kind != TaskKind::Download) PostProgress(t, true);
  }
  Event done;
  done.type = EventType::TaskCompleted;
  done.taskIdentifier = t.request.taskIdentifier;
  done.statusCode = t.status;
  done.url = t.responseUrl.empty() ? c.currentUrl : t.responseUrl;
  done.metrics = t.metrics;
  std::string location = t.location;
  // A segmented body with a range nobody fetched is not the file (as on Linux).
  if (code == 0 && t.writer && t.writer->Segmented() && !t.writer->Segments().Complete())
    code = kNSURLErrorNetworkConnectionLost;
  if (code == 0 && t.writer) {
    if (t.writer->CapturingErrorBody()) {
      t.writer->Fail(0, &done);
      done.responseBody = std::move(t.writer->ErrorBody());
    } else {
      code = t.writer->Commit(t.responseUrl, &location);
    }
  }
  if (code == 0 && !location.empty()) {
    Event completed;
    completed.type = EventType::DownloadCompleted;
    completed.taskIdentifier = t.request.taskIdentifier;
    completed.statusCode = t.status;
    completed.location = location;
    Post(std::move(completed));
  }
  if (code != 0) {
    if (t.writer) t.writer->Fail(code, &done);
    done.errorCode = code;
    done.message = message.empty() ? DescribeNSURLError(code) : message;
    const std::string& resume = t.resumeDataArrived ? t.producedResumeData : c.resumeData;
    if (system_ && t.request.kind == TaskKind::Download && t.request.keepPartialOnFailure && !resume.empty()) {
      // NSURLSession's own resume data, named in our signed resume blob like a partial file.
      KeepResumeData(t.request, resume, t.received, &done);
    }
  }
  if (t.request.kind != TaskKind::Download || (!t.writer && !t.body.empty())) done.responseBody = std::move(t.body);
  RemoveTemporaryBody(temporary_directory_, t.temporaryBody);
  DropBodyStream(t.request.taskIdentifier);
  by_id_.erase(t.request.taskIdentifier);
  tasks_.erase(id);  // t is gone after this line
  Tombstone(id);
  Post(std::move(done));
  RebalanceSpeeds(ProgressThrottle::Clock::now());  // its share goes to the others
}

// --- Streamed request bodies ---

bool AppleSessionModel::OnNeedNewBodyStream(NsTaskId task, Commands* commands) {
  Task* t = Find(task);
  if (t == nullptr || !t->bodyStream || t->overrideCode != 0) return false;
  if (t->bodyStream->AnswerNeedNewBodyStream()) return true;
  // Cancelled, the task would report -999; overrideCode reports why.
  t->overrideCode = kNSURLErrorRequestBodyStreamExhausted;
  commands->push_back({TaskAction::Cancel, task});
  return false;
}

AppleBodyStream::Next AppleSessionModel::OnBodySpace(NsTaskId task, size_t capacity, Commands* commands) {
  Task* t = Find(task);
  if (t == nullptr || !t->bodyStream || t->overrideCode != 0) {
    AppleBodyStream::Next none;
    none.step = AppleBodyStream::Step::Close;
    return none;
  }
  bool wasUploading = t->Uploading();
  AppleBodyStream::Next next = t->bodyStream->Take(capacity);
  if (next.postWanted) { Post(BodyWantedEvent(t->request.taskIdentifier)); }
  if (next.step == AppleBodyStream::Step::Fail) {
    t->overrideCode = kNSURLErrorRequestBodyStreamExhausted;
    commands->push_back({TaskAction::Cancel, task});
  }
  // The body is all written: the task moves from the upload budget to the download one.
  if (wasUploading != t->Uploading()) RebalanceSpeeds(ProgressThrottle::Clock::now());
  return next;
}

void AppleSessionModel::OnBodyWritten(NsTaskId task, size_t bytes) {
  if (Task* t = Find(task); t != nullptr && t->bodyStream) t->bodyStream->Wrote(bytes);
}

NsTaskId AppleSessionModel::BodyArrived(uint64_t taskIdentifier) {
  auto found = by_id_.find(taskIdentifier);
  if (found == by_id_.end()) return 0;
  Task* t = Find(found->second);
  return t != nullptr && t->bodyStream ? found->second : 0;
}

// The task ended or never started: the stream is closed (JS's writes are dropped) and forgotten.
void AppleSessionModel::DropBodyStream(uint64_t taskIdentifier) {
  if (std::shared_ptr<BodyStream> stream = body_streams_.Find(taskIdentifier)) stream->Close();
  body_streams_.Remove(taskIdentifier);
}

// --- segmented downloads: the hooks (the decisions are apple_segments.cc) ---

// The first task's response was accepted: the rules may give it segments (never in a
// background session, which has no writer: nsurlsessiond owns its one file).
void AppleSessionModel::MaybeSegment(Task& t, const ResponseHead& head) {
  if (t.segments || invalidating_) return;
  FirstResponseFacts facts;
  facts.wanted = t.request.segments;
  facts.connectionsPerHost = config_.maximumConnectionsPerHost;
  facts.status = head.status;
  facts.headers = &head.headers;
  facts.contentLength = head.expectedLength;
  facts.paced = t.downPacer.Limited();
  facts.capturingErrorBody = t.writer->CapturingErrorBody();
  facts.alreadySegmented = t.writer->Segmented();
  facts.resumeOffset = t.writer->ResumeOffset();
  StartPlan base;
  PlanRequest(t.request, &base);
  base.url = head.url;  // where NSURLSession's redirects led
  base.taskIdentifier = t.request.taskIdentifier;
  t.segments = AppleSegments::Begin(facts, t.writer.get(), base, t.request.resumeValidator, (t.holds & kUserHold) != 0,
                                    &next_segment_request_, &segment_work_);
}

SegmentWork AppleSessionModel::TakeSegmentWork() {
  SegmentWork work;
  std::swap(work, segment_work_);
  return work;
}

bool AppleSessionModel::SegmentTaskCreated(uint64_t taskIdentifier, uint64_t segmentRequest, NsTaskId task) {
  Task* t = FindById(taskIdentifier);
  if (t == nullptr || !t->segments || !t->segments->Created(segmentRequest, task)) return false;
  segment_tasks_[task] = taskIdentifier;
  return true;
}

void AppleSessionModel::SegmentTaskCreationFailed(uint64_t taskIdentifier, uint64_t segmentRequest) {
  Task* t = FindById(taskIdentifier);
  if (t == nullptr || !t->segments) return;
  SegmentEffects effects;
  t->segments->CreationFailed(segmentRequest, &effects);
  ApplySegmentEffects(by_id_[taskIdentifier], *t, effects);
}

// The download a Range task belongs to, while it runs (null once it ended: the task's late
// callbacks are dropped), and its first task.
AppleSessionModel::Task* AppleSessionModel::SegmentOwner(NsTaskId task, NsTaskId* first) {
  auto found = segment_tasks_.find(task);
  if (found == segment_tasks_.end()) return nullptr;
  auto id = by_id_.find(found->second);
  Task* t = id == by_id_.end() ? nullptr : Find(id->second);
  if (t == nullptr || !t->segments || t->overrideCode != 0) return nullptr;
  *first = id->second;
  return t;
}

bool AppleSessionModel::SegmentResponse(NsTaskId task, const ResponseHead& head) {
  NsTaskId first = 0;
  Task* t = SegmentOwner(task, &first);
  if (t == nullptr) return false;
  SegmentEffects effects;
  bool allow = t->segments->Response(task, head.status, head.headers, VerifiedHostRefusal(head.url), &effects);
  ApplySegmentEffects(first, *t, effects);
  return allow;
}

// A Range task's bytes count in the task's progress; they are not paced (a paced download is
// one request, README).
void AppleSessionModel::SegmentData(NsTaskId task, const char* bytes, size_t length,
                                    ProgressThrottle::Clock::time_point now) {
  NsTaskId first = 0;
  Task* t = SegmentOwner(task, &first);
  if (t == nullptr) return;
  SegmentEffects effects;
  int64_t took = t->segments->Data(task, bytes, length, &effects);
  if (took < 0) {
    effects.failure = t->writer->WriteFailureCode();
  } else if (took > 0) {
    t->received += took;
    PostProgress(*t, false, now);
  }
  ApplySegmentEffects(first, *t, effects);
}

void AppleSessionModel::SegmentEnded(NsTaskId task, const Completion& completion) {
  NsTaskId first = 0;
  Task* t = SegmentOwner(task, &first);
  segment_tasks_.erase(task);
  if (t == nullptr) return;
  SegmentEffects effects;
  t->segments->Ended(task, completion.code, &effects);
  ApplySegmentEffects(first, *t, effects);
}

// What AppleSegments decided, done to the user's task. Finishing it erases `t`: last.
void AppleSessionModel::ApplySegmentEffects(NsTaskId first, Task& t, const SegmentEffects& effects) {
  Commands& out = segment_work_.commands;
  if (effects.failure != 0) {
    if (t.overrideCode == 0) t.overrideCode = effects.failure;
    t.segments->CancelAll();
    if (t.segments->FirstDone()) return Finish(first, t, CompletionWith(0));
    out.push_back({TaskAction::Cancel, first});  // its completion finishes the task with the code
    return;
  }
  if (effects.holdFirst) {
    for (const Command& c : Hold(t, kSegmentHold)) out.push_back(c);
  }
  if (effects.releaseFirst) {
    for (const Command& c : Release(t, kSegmentHold)) out.push_back(c);
  }
  // NSURLSession.h: "-cancel may be sent to a task that has been suspended."
  if (effects.cancelFirst) out.push_back({TaskAction::Cancel, first});
  if (effects.complete) Finish(first, t, CompletionWith(0));
}

// A speed limit now holds a segmented download: it goes on as one request (as on Linux).
void AppleSessionModel::CollapsePacedSegments() {
  std::vector<NsTaskId> paced;
  for (auto& entry : tasks_) {
    if (entry.second->segments && entry.second->downPacer.Limited()) paced.push_back(entry.first);
  }
  for (NsTaskId id : paced) {
    Task* t = Find(id);
    if (t == nullptr) continue;
    SegmentEffects effects;
    t->segments->Paced(&effects);
    ApplySegmentEffects(id, *t, effects);
  }
}

}  // namespace urlsession
