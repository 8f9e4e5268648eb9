#include "curl/curl_engine.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include <fstream>
#include <iterator>
#include <sstream>

#include "core/file_ops.h"
#include "curl/usable_cpus.h"

namespace urlsession {
namespace {

std::once_flag global_init_once;

// "https://Example.com:8443/path" -> "https://example.com:8443": what per-host limits count.
std::string HostKey(const std::string& url) {
  size_t scheme = url.find("://");
  size_t end = url.find_first_of("/?#", scheme == std::string::npos ? 0 : scheme + 3);
  std::string key = url.substr(0, end);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

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
  for (const char* fallback : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                               "/etc/ssl/cert.pem"}) {
    if (!bundle.empty()) break;
    bundle = ReadWholeFile(fallback);
  }
  if (!bundle.empty() && bundle.back() != '\n') bundle.push_back('\n');
  return bundle + extraPem;
}

}  // namespace

// JS thread. Sets everything up, then starts the engine thread.
CurlEngine::CurlEngine(const SessionConfig& config, EventSink* sink) : config_(config), sink_(sink) {
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
  driver_ = std::make_unique<EpollMultiDriver>(multi_);
  if (!driver_->failure().empty()) {
    start_failure_ = driver_->failure();
    return;  // no engine thread: it could only spin on a broken epoll set
  }

  // All easy handles of the session run on the engine thread, so the share needs no locks.
  share_ = curl_share_init();
  if (config_.cookieAcceptPolicy != CookieAcceptPolicy::Never) curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  context_.share = share_;
  context_.easyPool = &easy_pool_;
  context_.multiplexedResponses = &multiplexed_responses_;
  context_.nextTick = &next_tick_;
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
  auto shared = std::make_shared<TaskRequest>(std::move(request));
  Enqueue([this, shared] { Start(std::move(*shared)); });
}

void CurlEngine::CancelTask(uint64_t taskIdentifier) {
  Enqueue([this, taskIdentifier] { Cancel(taskIdentifier); });
}

void CurlEngine::SuspendTask(uint64_t taskIdentifier) {
  Enqueue([this, taskIdentifier] {
    if (CurlTransfer* transfer = Find(taskIdentifier)) transfer->SetUserSuspended(true);
    else suspended_while_waiting_.insert(taskIdentifier);
  });
}

void CurlEngine::ResumeTask(uint64_t taskIdentifier) {
  Enqueue([this, taskIdentifier] {
    if (CurlTransfer* transfer = Find(taskIdentifier)) transfer->SetUserSuspended(false);
    suspended_while_waiting_.erase(taskIdentifier);
  });
}

void CurlEngine::AcknowledgeBody(uint64_t taskIdentifier, int64_t bytes) {
  Enqueue([this, taskIdentifier, bytes] {
    if (CurlTransfer* transfer = Find(taskIdentifier)) transfer->AcknowledgeBody(bytes);
  });
}

void CurlEngine::FinishTasksAndInvalidate() {
  Enqueue([this] { invalidating_ = true; });
}

void CurlEngine::InvalidateAndCancel() {
  Enqueue([this] {
    invalidating_ = true;
    // Waiting tasks first, so that finishing a running one admits nothing new.
    while (!waiting_.empty()) CancelWaiting(waiting_.begin()->second.front().taskIdentifier);
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
      AdmitAllWaiting();
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
// (affinity or a cgroup quota): the reply could not arrive while this thread held the only one.
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

// Engine thread, once libcurl has acted on ready sockets or its timer.
void CurlEngine::AfterLibcurlActed() {
  LearnMultiplexedHosts();
  CollectFinished();
  RunTicks();
  EnforceCookieLimits();
  MaybeEndInvalidation();
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
    CurlTransfer(std::move(request), context_).Complete(CURLE_OK, /*cancelled=*/true);
    return;
  }
  // Every task waits first; AdmitAllWaiting runs after the whole batch of commands, so a burst
  // of starts is admitted knowing its own size (see TransferBuffers).
  waiting_[HostKey(request.url)].push_back(std::move(request));
  ++waiting_count_;
}

// Runs every turn of the engine loop: no allocation. AdmitWaiting may erase only its own entry.
void CurlEngine::AdmitAllWaiting() {
  for (auto entry = waiting_.begin(); entry != waiting_.end();) {
    auto next = std::next(entry);
    AdmitWaiting(entry->first);
    entry = next;
  }
}

// Engine thread: the task gets its easy handle, its files and its place in the multi handle.
void CurlEngine::Admit(TaskRequest request) {
  uint64_t id = request.taskIdentifier;
  std::string host = HostKey(request.url);
  auto transfer = std::make_unique<CurlTransfer>(std::move(request), context_);
  if (!transfer->Prepare(TransferBuffers::ForRunning(ExpectedConcurrency(host)))) {
    transfer->Complete(CURLE_FAILED_INIT, false);
    return;
  }
  curl_multi_add_handle(multi_, transfer->easy());
  last_boundary_ = EpollMultiDriver::Clock::now();
  if (suspended_while_waiting_.erase(id) > 0) transfer->SetUserSuspended(true);
  ++running_per_host_[host];
  host_of_[id] = host;
  transfers_[id] = std::move(transfer);
}

// How many transfers will run at once right after this admission: those running, this one, and
// the waiting ones of the same host that its free slots will admit in the same pass. Tasks that
// wait for a slot hold no buffer, so they do not count (a queue of 1,000 behind a limit of one
// still gets one large buffer).
size_t CurlEngine::ExpectedConcurrency(const std::string& host) const {
  auto queue = waiting_.find(host);
  size_t waiting = queue == waiting_.end() ? 0 : queue->second.size();
  auto running = running_per_host_.find(host);
  int used = running == running_per_host_.end() ? 0 : running->second;
  size_t free_slots = static_cast<size_t>(std::max(0, TaskLimit(host) - used - 1));
  return transfers_.size() + 1 + std::min(waiting, free_slots);
}

// HTTPMaximumConnectionsPerHost limits connections, as in NSURLSession. Over HTTP/1.1 a running
// task holds a connection; once the host answered over h2 or h3 its tasks are streams sharing
// connections, up to libcurl's 100 streams per connection (CURLMOPT_MAX_CONCURRENT_STREAMS);
// libcurl itself still caps the connections (CURLMOPT_MAX_HOST_CONNECTIONS).
int CurlEngine::TaskLimit(const std::string& host) const {
  constexpr int kStreamsPerConnection = 100;
  int connections = std::max(1, config_.maximumConnectionsPerHost);
  return multiplexed_hosts_.count(host) > 0 ? connections * kStreamsPerConnection : connections;
}

// Engine thread, after libcurl acted: a response head that arrived over h2/h3 makes its host
// multiplexed, and the tasks waiting for it start at once instead of one connection's worth.
void CurlEngine::LearnMultiplexedHosts() {
  for (uint64_t id : multiplexed_responses_) {
    auto found = host_of_.find(id);
    if (found == host_of_.end()) continue;
    std::string host = found->second;  // a copy: admitting inserts into host_of_
    if (multiplexed_hosts_.insert(host).second) AdmitWaiting(host);
  }
  multiplexed_responses_.clear();
}

void CurlEngine::AdmitWaiting(const std::string& host) {
  auto queue = waiting_.find(host);
  while (queue != waiting_.end() && !queue->second.empty() &&
         running_per_host_[host] < TaskLimit(host)) {
    TaskRequest next = std::move(queue->second.front());
    queue->second.pop_front();
    --waiting_count_;
    Admit(std::move(next));
  }
  if (queue != waiting_.end() && queue->second.empty()) waiting_.erase(queue);
}

bool CurlEngine::CancelWaiting(uint64_t taskIdentifier) {
  for (auto entry = waiting_.begin(); entry != waiting_.end(); ++entry) {
    auto& queue = entry->second;
    for (auto it = queue.begin(); it != queue.end(); ++it) {
      if (it->taskIdentifier != taskIdentifier) continue;
      TaskRequest request = std::move(*it);
      queue.erase(it);
      --waiting_count_;
      if (queue.empty()) waiting_.erase(entry);
      suspended_while_waiting_.erase(taskIdentifier);
      CurlTransfer(std::move(request), context_).Complete(CURLE_OK, /*cancelled=*/true);
      return true;
    }
  }
  return false;
}

void CurlEngine::Cancel(uint64_t taskIdentifier) {
  auto found = transfers_.find(taskIdentifier);
  if (found == transfers_.end()) {
    CancelWaiting(taskIdentifier);
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
    if (transfer != nullptr) Finish(transfer, result, false);
  }
}

// Engine thread, after libcurl acted, once the earliest moment a transfer asked for has come:
// timeouts and held-back progress (CurlTransfer::Tick). Otherwise one comparison.
void CurlEngine::RunTicks() {
  auto now = CurlTransfer::Clock::now();
  if (now < next_tick_) return;
  next_tick_ = CurlTransfer::Clock::time_point::max();
  for (auto& entry : transfers_) {
    if (entry.second->Tick(now)) timed_out_.push_back(entry.second.get());
    else next_tick_ = std::min(next_tick_, entry.second->NextTick());
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
  transfer->Complete(result, cancelled);
  last_boundary_ = EpollMultiDriver::Clock::now();
  uint64_t id = transfer->id();
  transfers_.erase(id);  // `transfer` is gone after this line
  auto host = host_of_.find(id);
  if (host == host_of_.end()) return;
  std::string key = std::move(host->second);
  host_of_.erase(host);
  if (--running_per_host_[key] <= 0) running_per_host_.erase(key);
  AdmitWaiting(key);
}

void CurlEngine::MaybeEndInvalidation() {
  if (!invalidating_ || invalidated_ || !transfers_.empty() || waiting_count_ > 0) return;
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
