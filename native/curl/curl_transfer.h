// One task of the libcurl engine: an easy handle plus the file or memory it reads and
// writes, the redirects it follows and the timers libcurl cannot keep as NSURLSession means them.
// Created, driven and destroyed on the engine thread only.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/body_stream.h"
#include "core/download_writer.h"
#include "core/progress_throttle.h"
#include "core/speed_pacer.h"
#include "core/segment_plan.h"
#include "curl/easy_pool.h"
#include "engine/engine.h"

namespace urlsession {

// What every transfer of one session shares (owned by CurlEngine, outlives its transfers).
struct CurlSessionContext {
  const SessionConfig* config = nullptr;
  EventSink* sink = nullptr;
  CURLSH* share = nullptr;
  // The share of tasks that omit credentials (TaskRequest::omitCredentials): DNS and TLS
  // sessions, no cookies. libcurl sends and stores cookies for any handle whose share holds them
  // once its cookie engine was ever on, which a pooled handle's stays across curl_easy_reset.
  CURLSH* cookielessShare = nullptr;
  EasyPool* easyPool = nullptr;
  std::string caBundle;    // system roots + config.tls.caPem; empty: libcurl's default roots
  std::string pinnedKeys;  // "sha256//a;sha256//b" or empty
  std::string userAgent;
  // Transfers whose own host answered over HTTP/2 or 3 (multiplexed) add their id here when the
  // response head arrives; the engine then admits more of that host's tasks (engine thread).
  std::vector<uint64_t>* multiplexedResponses = nullptr;
  // Set when a response head carries Set-Cookie (engine thread): the engine then keeps the
  // cookie store within its limits. Null when the session takes no cookies.
  bool* setCookieSeen = nullptr;
  // When the engine next calls CurlTransfer::Tick on its transfers (engine thread). A transfer
  // that gets an earlier moment of its own (admitted, unpaused, progress held back) lowers it.
  std::chrono::steady_clock::time_point* nextTick = nullptr;
  // Set when a transfer starts or stops sending its request body (engine thread): the engine then
  // shares the session's speed budgets again (CurlEngine::RebalanceSpeeds).
  bool* speedSharesStale = nullptr;
  // The engine's multi handle: a segmented download adds and removes its Range requests itself
  // (curl_segments.cc). Engine thread.
  CURLM* multi = nullptr;
  // Streamed request bodies (BodySource::Stream) by task: the transfer reads its own (engine thread).
  BodyStreams* bodyStreams = nullptr;
};

// Buffer sizes for a transfer admitted while `running` transfers (itself included) run in its
// session: libcurl's maxima for a few, an equal share of a fixed budget for a crowd.
struct TransferBuffers {
  long download;
  long upload;
  static TransferBuffers ForRunning(size_t running);
};

class CurlTransfer {
 public:
  CurlTransfer(TaskRequest request, const CurlSessionContext& context);
  ~CurlTransfer();
  CurlTransfer(const CurlTransfer&) = delete;
  CurlTransfer& operator=(const CurlTransfer&) = delete;

  // Opens the source/partial file and configures the easy handle. On failure returns false
  // and the caller calls Complete(), which reports the NSURLError code Prepare recorded.
  bool Prepare(TransferBuffers buffers);
  CURL* easy() const { return easy_; }
  uint64_t id() const { return request_.taskIdentifier; }

  // A download whose answer to its Range request cannot continue the kept bytes: prepares the
  // same request again from an empty file. True: add the handle to the multi handle again
  // (instead of Complete).
  bool RestartFromZero();
  // The response was a redirect this task follows (HeadEnded decided, its body was dropped):
  // prepares the request to the new location. True: add the handle again (instead of Complete).
  bool FollowRedirect(CURLcode result);

  // The timers libcurl cannot keep: timeoutIntervalForRequest as NSURLSession means it (no byte
  // in either direction for that long, reset by every byte, from the start of the task),
  // timeoutIntervalForResource over the whole task (every redirect included), and progress
  // the throttle held back. Engine thread, at the moment NextTick() named (or later): reports
  // held progress; true when a timeout passed (the engine then finishes the transfer with
  // CURLE_OPERATION_TIMEDOUT, which Complete reports as -1001).
  using Clock = std::chrono::steady_clock;
  bool Tick(Clock::time_point now);
  Clock::time_point NextTick() const;
  // Posts the final progress, DownloadCompleted (downloads that succeeded) and TaskCompleted.
  // `result` is libcurl's; `cancelled` overrides it with -999.
  void Complete(CURLcode result, bool cancelled);
  // Ends without any event (engine shutdown): the partial file goes, unless the session is
  // persistent and its journal names it (DownloadWriter::AbandonAtShutdown).
  void Abandon();

  // Pause control: a task is paused while the user suspended it or while its streamed body
  // waits for JS (backpressure). Engine thread.
  void SetUserSuspended(bool suspended);
  void AcknowledgeBody(int64_t bytes);
  // JS wrote to the streamed request body this transfer waits for: sending continues.
  void BodyArrived();
  bool UserSuspended() const { return user_suspended_; }

  // Speed limits (engine thread). The task's own limit (TaskRequest::maximumBytesPerSecond), and
  // the rates the engine gives it (0: unlimited), which OnWrite/OnRead keep by pausing the
  // direction that is ahead (SpeedPacer) until Tick finds it ready again.
  int64_t OwnSpeedLimit() const { return request_.maximumBytesPerSecond; }
  void SetOwnSpeedLimit(int64_t bytesPerSecond) { request_.maximumBytesPerSecond = bytesPerSecond; }
  // Whether the transfer is sending its request body now (it then takes a share of the session's
  // upload budget instead of the download one).
  bool Uploading() const {
    return request_.bodySource == BodySource::Stream
               ? !stream_ended_
               : request_.bodySource != BodySource::None && body_offset_ < body_size_;
  }
  void SetPaceRates(int64_t download, int64_t upload);

  // Segmented downloads (curl_segments.cc). The task's own handle (easy()) is the first
  // segment's; the others are Range requests of their own handles, whose CURLINFO_PRIVATE is
  // this transfer too. Engine thread, outside libcurl's callbacks.
  // The task's own handle ended with `*result`: true when other segments still run (the task
  // is not complete yet; SegmentFinished reports when it is). A stop at the segment's end is
  // success (`*result` becomes CURLE_OK), and so is a cut mid-range that a Range request of its
  // own continues (core/segment_rules.h DecideSegmentEnd).
  bool SegmentsContinue(CURLcode* result);
  // One of the other segments' handles (never easy()) finished with `result`; it is removed
  // from the multi handle here. True when the task is now complete: the engine then finishes
  // it with `*taskResult`.
  bool SegmentFinished(CURL* easy, CURLcode result, CURLcode* taskResult);

 private:
  static size_t OnHeader(char* data, size_t size, size_t count, void* self);
  bool HeadEnded();
  static size_t OnWrite(char* data, size_t size, size_t count, void* self);
  static size_t OnRead(char* buffer, size_t size, size_t count, void* self);
  static int OnSeek(void* self, curl_off_t offset, int origin);
  static int OnTransferInfo(void* self, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

  void ApplyPause();
  bool Paused() const { return user_suspended_ || backpressure_paused_; }
  // Paused, or a direction held back by its pacer: not idle either way.
  bool Held() const { return Paused() || recv_paced_ || send_paced_; }
  bool PaceAllows(SpeedPacer& pacer, bool* paced);
  void ResumePaced(Clock::time_point now);
  void WakeBy(Clock::time_point when) const;
  bool OpenBody();
  // Streamed request bodies (BodySource::Stream), inside OnRead/OnSeek: the bytes, or libcurl's
  // pause (nothing from JS yet) or abort (JS's stream failed).
  size_t ReadStreamedBody(char* buffer, size_t capacity);
  void DropStreamedBody();
  // Prepare's cookie options: the session's store, or no cookies (TaskRequest::omitCredentials).
  void UseCookies();
  // The share handle this task's handles use (CurlSessionContext::share or cookielessShare).
  CURLSH* Share() const;
  bool PlanRedirect(long status);
  static bool RedirectDropsBody(int status, const std::string& method);
  void SetRequestHeaders();
  void ConfigureMethodAndBody();
  void ReportResponseOnce();
  // `heldOnly`: only a total the throttle held back (Tick), never a first report.
  void PostProgress(bool final, bool heldOnly = false);
  void PostProgressEvent(EventType type, int64_t total, int64_t expected);
  void FillMetrics(TaskMetrics* metrics, std::string* effectiveUrl);
  void Post(Event event) { context_.sink->Post(std::move(event)); }

  // Segmented downloads (curl_segments.cc).
  struct SegmentRequest;
  static size_t OnSegmentHeader(char* data, size_t size, size_t count, void* request);
  static size_t OnSegmentWrite(char* data, size_t size, size_t count, void* request);
  void MaybePlanSegments();
  size_t WriteFirstSegment(const char* data, size_t length);
  bool StartSegmentRequest(int64_t segment, int64_t from, int64_t to, bool split, SegmentPlan::Split how);
  bool HasRequest(int64_t start) const;
  bool SegmentAnswerFits(SegmentRequest* request) const;
  bool AllSegmentsAnswered() const;
  bool HasRunningRequest(int64_t start) const;
  void Rebalance();
  void CollapseSegments();
  void SegmentsTick();
  void DropSegmentRequests();
  void PauseSegmentRequests(bool paused);

  TaskRequest request_;
  const CurlSessionContext& context_;
  CURL* easy_ = nullptr;
  curl_slist* header_list_ = nullptr;
  char error_buffer_[CURL_ERROR_SIZE] = {0};

  // Downloads: the file side (partial file, resume, integrity, naming) is portable core code.
  std::unique_ptr<DownloadWriter> download_;
  long upload_buffer_ = 0;  // TransferBuffers::upload, again for every redirect

  // Timers (Tick). Zero durations: none.
  Clock::duration idle_limit_{};
  Clock::time_point last_activity_;  // the last byte in either direction (or the start)
  Clock::time_point resource_deadline_ = Clock::time_point::max();
  curl_off_t seen_down_ = 0, seen_up_ = 0;  // byte counts OnTransferInfo saw last
  const char* timed_out_ = nullptr;         // Tick decided -1001: which timeout, for the message

  // Redirects, followed here (libcurl's FOLLOWLOCATION would follow every 3xx).
  std::string origin_;        // scheme://host:port of the task's URL: credentials stay with it
  std::string redirect_to_;   // the current response is a redirect to this URL: its body is dropped
  int redirect_refusal_ = 0;  // ... which the policy refused: the task fails with this code
  int redirects_ = 0;
  double earlier_hops_ms_ = 0;  // time spent on the redirects before the current request

  // Streamed bodies (TaskRequest::streamBody).
  int64_t stream_unacknowledged_ = 0;
  bool backpressure_paused_ = false;
  bool user_suspended_ = false;

  // Streamed request body: what JS writes (core/body_stream.h). Starved: OnRead found it empty and
  // libcurl holds sending paused until BodyArrived.
  std::shared_ptr<BodyStream> body_stream_;
  bool stream_starved_ = false;
  bool stream_ended_ = false;
  bool stream_failed_ = false;

  // Request body.
  int body_fd_ = -1;
  int64_t body_size_ = 0;
  int64_t body_offset_ = 0;  // read position for memory bodies and progress
  int read_errno_ = 0;

  // Response.
  std::string response_body_;
  HeaderList response_headers_;
  bool response_reported_ = false;
  bool response_usable_ = true;  // false: DownloadWriter refused the answer to a Range request
  long status_ = 0;
  int64_t content_length_ = -1;
  int64_t received_ = 0;
  int64_t expected_ = 0;
  int failure_code_ = 0;
  bool body_over_limit_ = false;  // the kept body reached request_.maximumResponseSize

  // Speed limits: a direction's pacer said "not yet", libcurl holds that direction paused.
  SpeedPacer down_pacer_, up_pacer_;
  bool recv_paced_ = false, send_paced_ = false;

  ProgressThrottle download_throttle_;
  ProgressThrottle upload_throttle_;

  // Segmented downloads (curl_segments.cc).
  std::vector<std::unique_ptr<SegmentRequest>> segment_requests_;
  std::string segment_url_;         // the effective URL every Range request goes to
  std::string segment_validator_;   // If-Range: the first response's ResumeValidator
  size_t segment_connections_ = 0;  // how many requests the plan keeps running at once
  int64_t first_segment_ = 0;       // the segment the task's own handle writes (0 unless resumed)
  bool first_waiting_ = false;      // the task's handle is paused at its segment's end until every
                                    // segment's answer is known (it can still fetch everything)
  bool first_stopped_ = false;      // ... stopped there (a short write), which is its success
  bool first_done_ = false;         // ... has left the multi handle while other segments run
  bool unpause_first_ = false;      // SegmentsTick continues it (never inside a callback)
  bool segments_to_start_ = false;  // planned; SegmentsTick starts their requests
  bool collapsed_ = false;          // a Range answer did not fit: the task's handle fetches alone
  std::string first_overflow_;      // what arrived past the first segment's end while it waits
};

}  // namespace urlsession
