// The Linux engine: one libcurl multi handle per session, driven by one engine thread.
//
// Why a thread per session rather than libuv polling: the JS thread then never runs
// transfer work (no parsing, no disk writes), so a busy or blocked JS thread cannot slow a
// transfer, and the bridge only sees coalesced events. The measured comparison, made before the
// libuv-polling driver was removed, is in bench/ANALYSIS.md.
// The JS thread talks to the engine thread through a command queue plus an eventfd wake-up;
// the engine thread waits on epoll with libcurl's multi_socket API (epoll_multi_driver.h).
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "curl/curl_cookie_store.h"
#include "curl/curl_transfer.h"
#include "curl/epoll_multi_driver.h"
#include "curl/host_admission.h"
#include "engine/engine.h"

namespace urlsession {

class CurlEngine final : public Engine {
 public:
  CurlEngine(const SessionConfig& config, EventSink* sink);
  ~CurlEngine() override;

  // Empty when the engine thread runs; otherwise why the engine could not start (CreateEngine
  // then returns no engine). JS thread.
  const std::string& StartFailure() const { return start_failure_; }
  void StartTask(TaskRequest request) override;
  void CancelTask(uint64_t taskIdentifier) override;
  void SuspendTask(uint64_t taskIdentifier) override;
  void ResumeTask(uint64_t taskIdentifier) override;
  void AcknowledgeBody(uint64_t taskIdentifier, int64_t bytes) override;
  bool WriteBody(uint64_t taskIdentifier, std::string bytes, BodyStreamEnd end) override;
  void SetSpeedLimit(uint64_t taskIdentifier, int64_t bytesPerSecond) override;
  void FinishTasksAndInvalidate() override;
  void InvalidateAndCancel() override;
  void Reset(uint64_t token) override;
  void Flush(uint64_t token) override;
  void Shutdown() override;

 private:
  using Command = std::function<void()>;  // runs on the engine thread

  void Enqueue(Command command);  // JS thread
  void Run();                     // engine thread
  void KeepConnections();
  void AfterLibcurlActed();
  void AbandonAll();
  void RunCommands();
  void Start(TaskRequest request);
  bool Admit(TaskRequest request, size_t expectedConcurrency, bool suspended);
  void CompleteCancelled(TaskRequest request);
  void Cancel(uint64_t taskIdentifier);
  CurlTransfer* Find(uint64_t taskIdentifier);
  void CollectFinished();
  void RunTicks();
  int TickWaitMs() const;
  void Finish(CurlTransfer* transfer, CURLcode result, bool cancelled);
  void MaybeEndInvalidation();
  void EnforceCookieLimits();
  void RebalanceSpeeds();
  void SaveCookies();
  EpollMultiDriver::Clock::time_point SpinDeadline() const;
  void PostTokenEvent(EventType type, uint64_t token);
  std::string CookieJarPath() const;

  SessionConfig config_;
  EventSink* sink_;
  EasyPool easy_pool_;  // engine thread (after Shutdown: the destructor's)
  CurlSessionContext context_;
  CURLM* multi_ = nullptr;
  CURLSH* share_ = nullptr;
  CURLSH* cookieless_share_ = nullptr;  // CurlSessionContext::cookielessShare
  CURL* cookie_control_ = nullptr;      // reaches the shared cookie store (cookies_)
  // The shared cookie store within its limits, and its jar; null when the session takes no cookies.
  std::unique_ptr<CurlCookieStore> cookies_;
  bool set_cookie_seen_ = false;  // engine thread: a Set-Cookie arrived since the last look

  // Streamed request bodies by task (JS thread writes, transfers read). Before transfers_: they
  // close their streams when they go.
  BodyStreams body_streams_;
  std::mutex command_mutex_;
  std::deque<Command> commands_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::unique_ptr<EpollMultiDriver> driver_;  // with thread_
  std::string start_failure_;

  // Engine thread only.
  std::map<uint64_t, std::unique_ptr<CurlTransfer>> transfers_;
  HostAdmission admission_;                      // the tasks not running yet, and how many may run per host
  long connections_kept_ = 0;                    // CURLMOPT_MAXCONNECTS as last set (KeepConnections)
  std::vector<uint64_t> multiplexed_responses_;  // filled by transfers (CurlSessionContext)
  bool invalidating_ = false;
  bool invalidated_ = false;
  // When a transfer last started or finished: a reply (the server's, or JS's next command)
  // usually follows within microseconds.
  EpollMultiDriver::Clock::time_point last_boundary_;
  bool may_poll_ = false;  // at least two usable CPUs (SpinDeadline)
  // When some transfer next needs CurlTransfer::Tick (timeouts, held progress); transfers lower
  // it through CurlSessionContext::nextTick. Engine thread.
  CurlTransfer::Clock::time_point next_tick_ = CurlTransfer::Clock::time_point::max();
  std::vector<CurlTransfer*> timed_out_;  // RunTicks' scratch, kept to spare an allocation
  // Speed limits: the session's budget per direction (SessionConfig::maximumBytesPerSecond, then
  // SetSpeedLimit), and whether the transfers' shares must be worked out again (a transfer
  // started, ended, was suspended or resumed, finished sending its body, or a limit changed).
  int64_t session_speed_limit_ = 0;
  bool speed_shares_stale_ = false;
  bool session_speed_limit_changed_ = false;  // also when it became 0: every transfer back to its own
};

}  // namespace urlsession
