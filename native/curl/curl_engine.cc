#include "curl/curl_engine.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "core/file_ops.h"
#include "core/speed_shares.h"
#include "curl/usable_cpus.h"

namespace urlsession {
namespace {

std::once_flag global_init_once;

std::string ReadWholeFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::string();
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// libcurl's CAINFO_BLOB replaces the default roots; "extra trusted roots" means the system
// bundle plus the caller's certificates, so build that bundle once per session.
std::string SystemRootsPlus(const std::string& extraPem) {
  std::string bundle;
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if (info->age >= CURLVERSION_SEVENTH && info->cainfo != nullptr) bundle = ReadWholeFile(info->cainfo);
  for (const char* fallback :
       {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"}) {
    if (!bundle.empty()) break;
    bundle = ReadWholeFile(fallback);
  }
  if (!bundle.empty() && bundle.back() != '\n') bundle.push_back('\n');
  return bundle + extraPem;
}

}  // namespace

// JS thread. Sets everything up, then starts the engine thread.
CurlEngine::CurlEngine(const SessionConfig& config, EventSink* sink)
    : config_(config),
      sink_(sink),
      admission_(config.maximumConnectionsPerHost,
                 [this](TaskRequest request, size_t expectedConcurrency, bool suspended) {
                   return Admit(std::move(request), expectedConcurrency, suspended);
                 }) {
  std::call_once(global_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  context_.config = &config_;
  context_.sink = sink_;
  if (!config_.tls.caPem.empty()) context_.caBundle = SystemRootsPlus(config_.tls.caPem);
  for (const auto& pin : config_.tls.pinnedSpkiSha256) {
    context_.pinnedKeys += (context_.pinnedKeys.empty() ? "sha256//" : ";sha256//") + pin;
  }
  context_.userAgent = std::string("urlsession ") + curl_version();

  multi_ = curl_multi_init();
  if (multi_ == nullptr) {
    start_failure_ = "curl_multi_init failed";
    return;  // CreateEngine reports it; the destructor frees what exists
  }
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(config_.maximumConnectionsPerHost));
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
  KeepConnections();
  driver_ = std::make_unique<EpollMultiDriver>(multi_);
  if (!driver_->failure().empty()) {
    start_failure_ = driver_->failure();
    return;  // no engine thread: it could only spin on a broken epoll set
  }

  // All easy handles of the session run on the engine thread, so the share needs no locks.
  share_ = curl_share_init();
  if (config_.cookieAcceptPolicy != CookieAcceptPolicy::Never)
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  context_.share = share_;
  cookieless_share_ = curl_share_init();
  curl_share_setopt(cookieless_share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(cookieless_share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  context_.cookielessShare = cookieless_share_;
  context_.easyPool = &easy_pool_;
  context_.multiplexedResponses = &multiplexed_responses_;
  context_.nextTick = &next_tick_;
  context_.speedSharesStale = &speed_shares_stale_;
  session_speed_limit_ = config_.maximumBytesPerSecond;
  context_.multi = multi_;
  context_.bodyStreams = &body_streams_;
  may_poll_ = UsableCpus() >= 2;

  cookie_control_ = curl_easy_init();
  curl_easy_setopt(cookie_control_, CURLOPT_SHARE, share_);
  if (config_.cookieAcceptPolicy != CookieAcceptPolicy::Never) {
    std::string jar = CookieJarPath();
    // Without its folder the session keeps its cookies in memory only.
    if (!jar.empty() && EnsureDirectory(config_.stateDirectory, 0700) != 0) jar.clear();
    cookies_ = std::make_unique<CurlCookieStore>(cookie_control_, std::move(jar));
    cookies_->Load();
    context_.setCookieSeen = &set_cookie_seen_;
  }

  thread_ = std::thread(&CurlEngine::Run, this);
}

CurlEngine::~CurlEngine() {
  Shutdown();
  // The jar one last time (when there is one): transfers abandoned at shutdown may have set cookies.
  SaveCookies();
  cookies_.reset();
  easy_pool_.Clear();  // pooled handles still hold the share
  if (cookie_control_ != nullptr) curl_easy_cleanup(cookie_control_);
  if (share_ != nullptr) curl_share_cleanup(share_);
  if (cookieless_share_ != nullptr) curl_share_cleanup(cookieless_share_);
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
  // Only now: curl_multi_cleanup still reports the cached connections' sockets to the driver.
  driver_.reset();
}

std::string CurlEngine::CookieJarPath() const {
  if (config_.stateDirectory.empty()) return std::string();
  return config_.stateDirectory + "/cookies.txt";
}

void CurlEngine::Enqueue(Command command) {
  {
    std::lock_guard<std::mutex> lock(command_mutex_);
    commands_.push_back(std::move(command));
  }
  driver_->Wake();
}

void CurlEngine::StartTask(TaskRequest request) {
  // JS writes a streamed body from now on, while the task may still wait for its turn.
  if (request.bodySource == BodySource::Stream) body_streams_.Open(request.taskIdentifier, request.streamedBodyLength);
  auto shared = std::make_shared<TaskRequest>(std::move(request));
  Enqueue([this, shared] { Start(std::move(*shared)); });
}

void CurlEngine::CancelTask(uint64_t taskIdentifier) {
  Enqueue([this, taskIdentifier] { Cancel(taskIdentifier); });
}

void CurlEngine::SuspendTask(uint64_t taskIdentifier) {
  Enqueue([this, taskIdentifier] {
    if (CurlTransfer* transfer = Find(taskIdentifier))
      transfer->SetUserSuspended(true);
    else
      admission_.SetSuspendedWhileWaiting(taskIdentifier, true);
    speed_shares_stale_ = true;  // its share goes to the others
  });
}

void CurlEngine::ResumeTask(uint64_t taskIdentifier) {
  Enqueue([this, taskIdentifier] {
    if (CurlTransfer* transfer = Find(taskIdentifier)) transfer->SetUserSuspended(false);
    admission_.SetSuspendedWhileWaiting(taskIdentifier, false);
    speed_shares_stale_ = true;
  });
}

void CurlEngine::SetSpeedLimit(uint64_t taskIdentifier, int64_t bytesPerSecond) {
  Enqueue([this, taskIdentifier, bytesPerSecond] {
    if (taskIdentifier == 0) {
      session_speed_limit_ = bytesPerSecond;
      session_speed_limit_changed_ = true;
    } else if (CurlTransfer* transfer = Find(taskIdentifier)) {
      transfer->SetOwnSpeedLimit(bytesPerSecond);
      if (session_speed_limit_ <= 0) transfer->SetPaceRates(bytesPerSecond, bytesPerSecond);
    } else if (TaskRequest* waiting = admission_.FindWaiting(taskIdentifier)) {
      waiting->maximumBytesPerSecond = bytesPerSecond;
    }
    speed_shares_stale_ = true;
  });
}

void CurlEngine::AcknowledgeBody(uint64_t taskIdentifier, int64_t bytes) {
  Enqueue([this, taskIdentifier, bytes] {
    if (CurlTransfer* transfer = Find(taskIdentifier)) transfer->AcknowledgeBody(bytes);
  });
}

// JS thread: queued at once; the engine thread is woken only when the transfer waits for it.
bool CurlEngine::WriteBody(uint64_t taskIdentifier, std::string bytes, BodyStreamEnd end) {
  std::shared_ptr<BodyStream> stream = body_streams_.Find(taskIdentifier);
  if (!stream) return false;
  BodyStream::WriteResult result = stream->Write(std::move(bytes), end);
  if (result.wakeConsumer) {
    Enqueue([this, taskIdentifier] {
      if (CurlTransfer* transfer = Find(taskIdentifier)) transfer->BodyArrived();
    });
  }
  return result.wantsMore;
}

void CurlEngine::FinishTasksAndInvalidate() {
  Enqueue([this] { invalidating_ = true; });
}

void CurlEngine::InvalidateAndCancel() {
  Enqueue([this] {
    invalidating_ = true;
    // Waiting tasks first, so that finishing a running one admits nothing new.
    while (auto request = admission_.TakeFirstWaiting()) CompleteCancelled(std::move(*request));
    while (!transfers_.empty()) Cancel(transfers_.begin()->first);
  });
}

void CurlEngine::Reset(uint64_t token) {
  Enqueue([this, token] {
    if (cookies_) {
      cookies_->Clear();
    } else if (!CookieJarPath().empty()) {
      unlink(CookieJarPath().c_str());  // takes no cookies, but a jar an earlier session left goes
    }
    PostTokenEvent(EventType::ResetCompleted, token);
  });
}

void CurlEngine::Flush(uint64_t token) {
  Enqueue([this, token] {
    SaveCookies();
    PostTokenEvent(EventType::FlushCompleted, token);
  });
}

void CurlEngine::Shutdown() {
  stopping_.store(true);
  if (thread_.joinable()) driver_->Wake();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

// Engine thread: the whole life of every transfer.
void CurlEngine::Run() {
  while (!stopping_.load()) {
    sink_->HoldWake();
    RunCommands();
    if (!stopping_.load()) {
      admission_.AdmitAll();
      KeepConnections();
      RebalanceSpeeds();
      driver_->Act();
      AfterLibcurlActed();
    }
    // One JS wake-up per turn of this loop, however many events the turn produced.
    sink_->ReleaseWake();
    if (stopping_.load() || invalidated_) break;  // after invalidation nothing can start any more
    driver_->Wait(TickWaitMs(), SpinDeadline());
  }
  AbandonAll();
}

// Engine thread. A request-response exchange (await one request, then start the next) is
// latency-bound: each side's answer arrives sooner than waking a sleeping thread for it takes.
// So for a short window after a transfer starts or finishes, and only while at most one transfer
// runs, the engine polls instead of sleeping. With more transfers there is always other work to
// wake for; an idle session polls at most one window. Never with fewer than two usable CPUs
// (affinity or a cgroup quota): the reply could not arrive while this thread held the only one;
// and not while the CPUs are contended (EpollMultiDriver::Wait backs off after a preempted window).
// The figures behind both rules: bench/ANALYSIS.md, "Engine changes measured here".
EpollMultiDriver::Clock::time_point CurlEngine::SpinDeadline() const {
  constexpr std::chrono::microseconds kWindow{1000};
  if (!may_poll_ || transfers_.size() > 1) return {};
  return last_boundary_ + kWindow;
}

// Engine thread, at shutdown: drop what is still running without
// events, and leave no partial files but those a persistent session's journal names.
void CurlEngine::AbandonAll() {
  for (auto& entry : transfers_) {
    curl_multi_remove_handle(multi_, entry.second->easy());
    entry.second->Abandon();
  }
  transfers_.clear();
}

// Engine thread, before libcurl acts (once on the JS thread, in the constructor, before the engine
// thread exists): libcurl closes the oldest idle connection when a finished transfer hands one back
// to a pool that holds more than CURLMOPT_MAXCONNECTS, so the bound follows the warm hosts
// (HostAdmission::ConnectionsToKeep).
void CurlEngine::KeepConnections() {
  long keep = static_cast<long>(admission_.ConnectionsToKeep(WarmHosts::Clock::now()));
  if (keep == connections_kept_) return;
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, keep);
  connections_kept_ = keep;
}

// Engine thread, once libcurl has acted on ready sockets or its timer.
void CurlEngine::AfterLibcurlActed() {
  admission_.LearnMultiplexed(multiplexed_responses_);
  CollectFinished();
  RunTicks();
  EnforceCookieLimits();
  RebalanceSpeeds();
  MaybeEndInvalidation();
}

// Engine thread, before and after libcurl acts, when something changed the shares: divides the
// session's budgets among the running transfers that are not suspended (core/speed_shares.h),
// downloads and uploads apart. A transfer sending its body takes an upload share and keeps its
// own limit (at most the session's) for the response; one receiving takes a download share.
void CurlEngine::RebalanceSpeeds() {
  if (!speed_shares_stale_) return;
  speed_shares_stale_ = false;
  // Without a session budget every transfer keeps its own limit, set where it changes (Admit,
  // SetSpeedLimit): nothing to share, and a burst of short tasks costs no pass over the others.
  if (session_speed_limit_ <= 0 && !session_speed_limit_changed_) return;
  session_speed_limit_changed_ = false;
  std::vector<CurlTransfer*> receiving, sending;
  std::vector<int64_t> receivingLimits, sendingLimits;
  for (auto& entry : transfers_) {
    CurlTransfer* transfer = entry.second.get();
    if (transfer->UserSuspended()) continue;
    (transfer->Uploading() ? sending : receiving).push_back(transfer);
    (transfer->Uploading() ? sendingLimits : receivingLimits).push_back(transfer->OwnSpeedLimit());
  }
  auto capped = [this](int64_t own) {
    if (session_speed_limit_ <= 0) return own;
    return own > 0 ? std::min(own, session_speed_limit_) : session_speed_limit_;
  };
  std::vector<int64_t> down = ShareSpeed(session_speed_limit_, receivingLimits);
  for (size_t i = 0; i < receiving.size(); ++i) receiving[i]->SetPaceRates(down[i], capped(receivingLimits[i]));
  std::vector<int64_t> up = ShareSpeed(session_speed_limit_, sendingLimits);
  for (size_t i = 0; i < sending.size(); ++i) sending[i]->SetPaceRates(capped(sendingLimits[i]), up[i]);
}

// Engine thread, after libcurl acted: cookies set during that turn (by any transfer, on any hop
// of a redirect, finished or not) are brought within the limits at once, so the store never holds
// more than the limits plus one turn's worth. A turn without Set-Cookie costs one test of a flag.
void CurlEngine::EnforceCookieLimits() {
  if (!set_cookie_seen_ || !cookies_) return;
  set_cookie_seen_ = false;
  cookies_->Enforce();
}

// Engine thread (the destructor's after Shutdown): the jar, within the limits.
void CurlEngine::SaveCookies() {
  if (!cookies_) return;
  EnforceCookieLimits();
  cookies_->Save();
}

void CurlEngine::RunCommands() {
  std::deque<Command> batch;
  {
    std::lock_guard<std::mutex> lock(command_mutex_);
    batch.swap(commands_);
  }
  for (auto& command : batch) command();
}

void CurlEngine::Start(TaskRequest request) {
  if (invalidating_) {
    CompleteCancelled(std::move(request));
    return;
  }
  admission_.Wait(std::move(request));
}

// Engine thread, called by admission_: the task gets its easy handle, its files and its place in
// the multi handle.
bool CurlEngine::Admit(TaskRequest request, size_t expectedConcurrency, bool suspended) {
  uint64_t id = request.taskIdentifier;
  auto transfer = std::make_unique<CurlTransfer>(std::move(request), context_);
  if (!transfer->Prepare(TransferBuffers::ForRunning(expectedConcurrency))) {
    transfer->Complete(CURLE_FAILED_INIT, false);
    return false;
  }
  curl_multi_add_handle(multi_, transfer->easy());
  last_boundary_ = EpollMultiDriver::Clock::now();
  if (suspended) transfer->SetUserSuspended(true);
  if (int64_t own = transfer->OwnSpeedLimit(); own > 0) transfer->SetPaceRates(own, own);
  transfers_[id] = std::move(transfer);
  speed_shares_stale_ = true;
  return true;
}

// Engine thread: a task that never ran completes as cancelled.
void CurlEngine::CompleteCancelled(TaskRequest request) {
  CurlTransfer(std::move(request), context_).Complete(CURLE_OK, /*cancelled=*/true);
}

void CurlEngine::Cancel(uint64_t taskIdentifier) {
  auto found = transfers_.find(taskIdentifier);
  if (found == transfers_.end()) {
    if (auto request = admission_.TakeWaiting(taskIdentifier)) CompleteCancelled(std::move(*request));
    return;
  }
  Finish(found->second.get(), CURLE_OK, /*cancelled=*/true);
}

// Engine thread. A paused transfer keeps its connection and its bytes; the server sees
// TCP backpressure (or HTTP/2 flow control) until it continues.
CurlTransfer* CurlEngine::Find(uint64_t taskIdentifier) {
  auto found = transfers_.find(taskIdentifier);
  return found == transfers_.end() ? nullptr : found->second.get();
}

void CurlEngine::CollectFinished() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CurlTransfer* transfer = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&transfer));
    CURLcode result = message->data.result;  // read before removing the handle invalidates `message`
    if (transfer == nullptr) continue;
    // Another segment's handle of a segmented download (curl_segments.cc).
    CURLcode taskResult = CURLE_OK;
    if (message->easy_handle != transfer->easy()) {
      if (transfer->SegmentFinished(message->easy_handle, result, &taskResult)) Finish(transfer, taskResult, false);
      continue;
    }
    Finish(transfer, result, false);
  }
}

// Engine thread, after libcurl acted, once the earliest moment a transfer asked for has come:
// timeouts and held-back progress (CurlTransfer::Tick). Otherwise one comparison.
void CurlEngine::RunTicks() {
  auto now = CurlTransfer::Clock::now();
  if (now < next_tick_) return;
  next_tick_ = CurlTransfer::Clock::time_point::max();
  for (auto& entry : transfers_) {
    if (entry.second->Tick(now))
      timed_out_.push_back(entry.second.get());
    else
      next_tick_ = std::min(next_tick_, entry.second->NextTick());
  }
  for (CurlTransfer* transfer : timed_out_) Finish(transfer, CURLE_OPERATION_TIMEDOUT, false);
  timed_out_.clear();
}

// How long the engine thread may sleep: until the next tick (rounded up: waking before it would
// only turn the loop again), at most a second.
int CurlEngine::TickWaitMs() const {
  constexpr int kLongestWaitMs = 1000;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(next_tick_ - CurlTransfer::Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, kLongestWaitMs));
}

void CurlEngine::Finish(CurlTransfer* transfer, CURLcode result, bool cancelled) {
  curl_multi_remove_handle(multi_, transfer->easy());
  // A followed redirect, and a refused resume going again from zero, run on the same handle,
  // in the same slot.
  if (!cancelled && (transfer->FollowRedirect(result) || transfer->RestartFromZero())) {
    curl_multi_add_handle(multi_, transfer->easy());
    return;
  }
  if (!cancelled && transfer->SegmentsContinue(&result)) return;  // its other segments still run
  transfer->Complete(result, cancelled);
  last_boundary_ = EpollMultiDriver::Clock::now();
  uint64_t id = transfer->id();
  transfers_.erase(id);  // `transfer` is gone after this line
  admission_.Finished(id);
  speed_shares_stale_ = true;
}

void CurlEngine::MaybeEndInvalidation() {
  if (!invalidating_ || invalidated_ || !transfers_.empty() || admission_.HasWaiting()) return;
  SaveCookies();
  invalidated_ = true;
  Event event;
  event.type = EventType::SessionInvalidated;
  sink_->Post(std::move(event));
}

void CurlEngine::PostTokenEvent(EventType type, uint64_t token) {
  Event event;
  event.type = type;
  event.token = token;
  sink_->Post(std::move(event));
}

}  // namespace urlsession
