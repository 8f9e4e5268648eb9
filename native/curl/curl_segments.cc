// Segmented downloads in the libcurl engine (issue 18): the task's own GET keeps the first
// segment, and once its response shows that the body can be fetched in ranges (200, Accept-Ranges:
// bytes, a known length, a validator for If-Range, no content coding) the other segments are
// Range requests of their own easy handles, each written at its own offsets into the one partial
// file (DownloadWriter::WriteSegment). A segment that finishes early takes over half of the
// largest remaining range (SegmentPlan::ProposeSplit). Any answer to a first Range request other
// than the 206 it asked for drops every other segment, and the GET, which waits at its
// segment's end until every segment's answer is known, fetches the rest alone. A segment's
// request cut mid-range is sent again from the segment's next offset, a few times; so is the
// task's own, whose segment then goes on as a Range request of its own handle. Those
// decisions are core/segment_rules.h (the Apple engine makes the same); this file applies them
// to easy handles. Members of CurlTransfer; engine thread only, like the rest of it.
#include <algorithm>
#include <cstring>

#include "core/error_codes.h"
#include "core/headers.h"
#include "core/segment_rules.h"
#include "curl/curl_errors.h"
#include "curl/curl_segments.h"

namespace urlsession {

// Engine thread, in ReportResponseOnce of the task's own GET, before its first body byte.
void CurlTransfer::MaybePlanSegments() {
  if (download_ && download_->ResumedSegments() && segment_connections_ == 0) {
    // Resumed from a plan, and the task's own Range request was answered as it must be: the
    // other unfinished segments continue from their own offsets (SegmentsTick).
    char* url = nullptr;
    if (curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || url == nullptr) return;
    segment_url_ = url;
    segment_validator_ = request_.resumeValidator;
    first_segment_ = download_->ResumedSegment();
    size_t unfinished = 0;
    for (const Segment& segment : download_->Segments().segments()) unfinished += segment.Done() ? 0 : 1;
    size_t most = static_cast<size_t>(std::max(1, context_.config->maximumConnectionsPerHost));
    segment_connections_ = std::min(unfinished, most);
    segments_to_start_ = true;
    WakeBy(Clock::now());
    return;
  }
  if (!download_) return;
  FirstResponseFacts facts;
  facts.wanted = request_.segments;
  facts.connectionsPerHost = context_.config->maximumConnectionsPerHost;
  facts.status = static_cast<int>(status_);
  facts.headers = &response_headers_;
  facts.contentLength = content_length_;
  facts.redirect = !redirect_to_.empty();
  // The pacer sees only this handle's bytes: a paced download stays one request, held to its limit.
  facts.paced = down_pacer_.Limited();
  facts.capturingErrorBody = download_->CapturingErrorBody();
  facts.alreadySegmented = download_->Segmented();
  facts.resumeOffset = download_->ResumeOffset();
  SegmentingVerdict verdict = DecideSegmenting(facts);
  int count = verdict.count;
  if (count <= 1) return;
  char* url = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || url == nullptr) return;
  segment_url_ = url;
  segment_validator_ = std::move(verdict.validator);
  segment_connections_ = static_cast<size_t>(count);
  download_->BeginSegments(SegmentPlan::Even(content_length_, count));
  // libcurl adds no handle inside a callback of another: SegmentsTick starts them.
  segments_to_start_ = true;
  WakeBy(Clock::now());
}

// Engine thread, outside libcurl's callbacks.
bool CurlTransfer::StartSegmentRequest(int64_t segment, int64_t from, int64_t to, bool split, SegmentPlan::Split how) {
  auto request = std::make_unique<SegmentRequest>();
  request->owner = this;
  request->start = segment;
  request->from = from;
  request->to = to;
  request->split = split;
  request->how = how;
  // Every option of the task's own handle (TLS, proxy, timeouts, buffers, limits), then what
  // makes it this segment's request.
  request->easy = curl_easy_duphandle(easy_);
  if (request->easy == nullptr) return false;
  CURL* easy = request->easy;
  curl_easy_setopt(easy, CURLOPT_SHARE, Share());
  curl_easy_setopt(easy, CURLOPT_URL, segment_url_.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, request->error);
  // The range counts identity bytes: nothing to decode.
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, static_cast<char*>(nullptr));
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 1L);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &CurlTransfer::OnSegmentHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, request.get());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &CurlTransfer::OnSegmentWrite);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, request.get());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, this);
  // Over h2 every Range request would be a stream of the GET's one connection, which one
  // connection's window bounds (slower than one request: bench/ANALYSIS.md, "Segments over
  // HTTP/2"): each opens a connection of its own instead, as over HTTP/1.1.
  long version = 0;
  if (curl_easy_getinfo(easy_, CURLINFO_HTTP_VERSION, &version) == CURLE_OK && version >= CURL_HTTP_VERSION_2_0) {
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 0L);
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
  }
  for (curl_slist* item = header_list_; item != nullptr; item = item->next) {
    const char* colon = std::strchr(item->data, ':');
    if (colon != nullptr && SegmentSetsHeader(std::string(item->data, static_cast<size_t>(colon - item->data))))
      continue;
    request->headers = curl_slist_append(request->headers, item->data);
  }
  for (const auto& header : SegmentRequestHeaders(from, to, segment_validator_))
    request->headers = curl_slist_append(request->headers, (header.first + ": " + header.second).c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, request->headers);
  if (Paused()) curl_easy_pause(easy, CURLPAUSE_ALL);
  if (curl_multi_add_handle(context_.multi, easy) != CURLM_OK) return false;
  segment_requests_.push_back(std::move(request));
  return true;
}

// Engine thread. Collects the head; at its end decides whether the answer continues the file.
size_t CurlTransfer::OnSegmentHeader(char* data, size_t size, size_t count, void* request_ptr) {
  auto* request = static_cast<SegmentRequest*>(request_ptr);
  CurlTransfer* self = request->owner;
  size_t length = size * count;
  self->last_activity_ = Clock::now();
  if (length >= 5 && std::memcmp(data, "HTTP/", 5) == 0) {
    request->response_headers.clear();
    return length;
  }
  if (length > 0 && length <= 2 && (data[0] == '\r' || data[0] == '\n')) {
    long status = 0;
    curl_easy_getinfo(request->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status == 100) return length;  // another head follows
    if (!self->SegmentAnswerFits(request)) {
      request->refused = true;
      return 0;  // ends this request; SegmentFinished drops it
    }
    // A split takes its range from the donor only now; when the donor has passed the midpoint
    // meanwhile, the new request is not needed.
    if (request->split && !self->download_->Segments().ApplySplit(request->how)) {
      request->refused = true;
      return 0;
    }
    request->answered = true;
    if (self->first_waiting_ && self->AllSegmentsAnswered()) {
      self->unpause_first_ = true;
      self->WakeBy(Clock::now());  // SegmentsTick, after libcurl acted
    }
    return length;
  }
  const char* colon = static_cast<const char*>(std::memchr(data, ':', length));
  if (colon != nullptr) {
    std::string name(data, static_cast<size_t>(colon - data));
    size_t begin = static_cast<size_t>(colon + 1 - data);
    while (begin < length && (data[begin] == ' ' || data[begin] == '\t')) ++begin;
    size_t end = length;
    while (end > begin && (data[end - 1] == '\r' || data[end - 1] == '\n' || data[end - 1] == ' ')) --end;
    request->response_headers.emplace_back(std::move(name), std::string(data + begin, end - begin));
  }
  return length;
}

// core/segment_rules.h RangeAnswerFits, for the head this request collected.
bool CurlTransfer::SegmentAnswerFits(SegmentRequest* request) const {
  long status = 0;
  curl_easy_getinfo(request->easy, CURLINFO_RESPONSE_CODE, &status);
  return RangeAnswerFits(static_cast<int>(status), request->response_headers, request->from, request->to,
                         download_->Segments().length(), segment_validator_);
}

// Engine thread; the hot path of a segment: straight to the file at its offsets.
size_t CurlTransfer::OnSegmentWrite(char* data, size_t size, size_t count, void* request_ptr) {
  auto* request = static_cast<SegmentRequest*>(request_ptr);
  CurlTransfer* self = request->owner;
  if (!request->answered) return 0;
  int64_t took = self->download_->WriteSegment(request->start, data, size * count);
  if (took < 0) return 0;  // the disk refused: WriteFailureCode
  self->received_ += took;
  self->last_activity_ = Clock::now();
  self->PostProgress(false);
  // Fewer than offered: the segment reached its end (perhaps shortened by a split), which ends
  // this request (CURLE_WRITE_ERROR, its success: SegmentFinished looks at the plan).
  return static_cast<size_t>(took);
}

// Engine thread, in the task's own write callback once the body is segmented.
size_t CurlTransfer::WriteFirstSegment(const char* data, size_t length) {
  // Pausing inside this callback takes effect once libcurl has handed over the rest of what it
  // read (in pieces of at most 16 KiB): those pieces wait too.
  if (first_waiting_) {
    first_overflow_.append(data, length);
    return length;
  }
  const Segment* first = download_->Segments().Find(first_segment_);
  size_t room = first == nullptr ? 0 : static_cast<size_t>(std::max<int64_t>(0, first->end - first->next));
  size_t fits = std::min(room, length);
  int64_t took = fits == 0 ? 0 : download_->WriteSegment(first_segment_, data, fits);
  if (took < 0) return 0;  // the disk refused: WriteFailureCode
  received_ += took;
  PostProgress(false);
  if (fits == length) return length;
  // Past its segment only once every other segment is known to come: until then it may have to
  // fetch everything itself. The bytes past the end wait in memory (at most one callback's) and
  // the handle pauses; SegmentsTick or CollapseSegments decide. Not CURL_WRITEFUNC_PAUSE: the
  // chunk libcurl would offer again could then only be refused inside curl_easy_pause, which
  // leaves the handle stalled instead of ending it.
  if (!AllSegmentsAnswered()) {
    first_overflow_.assign(data + fits, length - fits);
    first_waiting_ = true;
    curl_easy_pause(easy_, CURLPAUSE_ALL);
    return length;
  }
  first_stopped_ = true;  // its end: the short write ends the request (CURLE_WRITE_ERROR)
  return fits;
}

bool CurlTransfer::AllSegmentsAnswered() const {
  if (segments_to_start_) return false;
  return std::all_of(segment_requests_.begin(), segment_requests_.end(),
                     [](const auto& request) { return request->answered || request->split; });
}

bool CurlTransfer::HasRunningRequest(int64_t start) const {
  if (start == first_segment_) return !first_done_;
  return std::any_of(segment_requests_.begin(), segment_requests_.end(),
                     [start](const auto& request) { return request->answered && request->start == start; });
}

// Whether some request fetches (or, unanswered, is to fetch) the segment starting at `start`.
bool CurlTransfer::HasRequest(int64_t start) const {
  if (start == first_segment_ && !first_done_) return true;
  return std::any_of(segment_requests_.begin(), segment_requests_.end(), [start](const auto& request) {
    return request->start == start && (!request->split || request->answered);
  });
}

// Engine thread, when the plan's requests start and whenever one finished its segment: while
// fewer requests run than planned, an unfinished segment nobody fetches gets a request from its
// own next offset (every segment but the first when planned, the unfinished ones when resumed);
// else the largest remaining range of a running one is split and a new request takes its second
// half. A donor with a split under way gives no other.
void CurlTransfer::Rebalance() {
  size_t running = segment_requests_.size() + (first_done_ ? 0 : 1);
  while (running < segment_connections_) {
    const Segment* orphan = nullptr;
    for (const Segment& segment : download_->Segments().segments()) {
      if (segment.Done() || HasRequest(segment.start)) continue;
      orphan = &segment;
      break;
    }
    if (orphan != nullptr) {
      if (!StartSegmentRequest(orphan->start, orphan->next, orphan->end, false, SegmentPlan::Split{})) return;
      ++running;
      continue;
    }
    auto split = download_->Segments().ProposeSplit([this](int64_t start) {
      if (!HasRunningRequest(start)) return false;
      return std::none_of(segment_requests_.begin(), segment_requests_.end(), [start](const auto& request) {
        return request->split && !request->answered && request->how.donor == start;
      });
    });
    if (!split || !StartSegmentRequest(split->at, split->at, split->end, true, *split)) return;
    ++running;
  }
}

// Engine thread: a first Range request was not answered as asked: the task's own GET fetches
// the rest of the body alone, from where it is.
void CurlTransfer::CollapseSegments() {
  DropSegmentRequests();
  download_->Segments().Collapse();
  segment_connections_ = 1;
  collapsed_ = true;
  if (first_waiting_) {
    // What waited past the first segment's end continues the file now.
    int64_t took = download_->WriteSegment(0, first_overflow_.data(), first_overflow_.size());
    if (took > 0) received_ += took;
    std::string().swap(first_overflow_);
    first_waiting_ = false;
    ApplyPause();
  }
}

bool CurlTransfer::SegmentsContinue(CURLcode* result) {
  if (!download_ || !download_->Segmented() || first_done_ || failure_code_ != 0) return false;
  // Tick's timeouts count every segment's bytes: they end the task, not its first request.
  if (timed_out_ != nullptr) return false;
  if (first_stopped_ && *result == CURLE_WRITE_ERROR && download_->WriteFailureCode() == 0) *result = CURLE_OK;
  const Segment* own = download_->Segments().Find(first_segment_);
  SegmentEndFacts facts;
  facts.own = true;
  facts.code = NSURLErrorFromCurl(*result, 0);
  facts.collapsed = collapsed_;
  facts.answered = true;
  facts.segmentDone = own == nullptr || own->Done();
  facts.diskFailed = download_->WriteFailureCode() != 0;
  facts.resumedPlan = download_->ResumedSegments();
  switch (DecideSegmentEnd(facts)) {
    case SegmentEnd::Done:
      if (*result != CURLE_OK) {
        // Cut while it waited at its segment's end: the next segment's request fetches what
        // waited (a collapse now finds nobody to fetch the rest: the task fails).
        *result = CURLE_OK;
        std::string().swap(first_overflow_);
        first_waiting_ = false;
      }
      break;
    case SegmentEnd::Retry:
      // Cut mid-range: its segment goes on as a Range request of its own, from what it wrote;
      // this handle stays the task's (its response, metrics and completion).
      if (!StartSegmentRequest(own->start, own->next, own->end, false, SegmentPlan::Split{})) return false;
      segment_requests_.back()->retries = 1;
      *result = CURLE_OK;
      error_buffer_[0] = '\0';  // the cut is not the task's failure: its text is not either
      break;
    default: return false;  // the task fails with what ended its request
  }
  first_done_ = true;
  if (download_->Segments().Complete()) return false;
  if (segments_to_start_) return true;  // SegmentsTick starts them
  Rebalance();
  return !segment_requests_.empty();
}

bool CurlTransfer::SegmentFinished(CURL* easy, CURLcode result, CURLcode* taskResult) {
  auto found = std::find_if(segment_requests_.begin(), segment_requests_.end(),
                            [easy](const auto& request) { return request->easy == easy; });
  if (found == segment_requests_.end()) return false;
  std::unique_ptr<SegmentRequest> request = std::move(*found);
  segment_requests_.erase(found);
  curl_multi_remove_handle(context_.multi, easy);
  *taskResult = CURLE_OK;
  const Segment* segment = download_->Segments().Find(request->start);
  SegmentEndFacts facts;
  facts.split = request->split;
  facts.answered = request->answered;
  facts.refused = request->refused;
  facts.segmentDone = segment != nullptr && segment->Done();
  facts.diskFailed = download_->WriteFailureCode() != 0;
  facts.resumedPlan = download_->ResumedSegments();
  facts.retries = request->retries;
  switch (DecideSegmentEnd(facts)) {
    case SegmentEnd::Done:
      Rebalance();
      return first_done_ && segment_requests_.empty() && download_->Segments().Complete();
    case SegmentEnd::Retry:
      // Cut mid-range: the same segment again, from what it has written.
      if (segment != nullptr &&
          StartSegmentRequest(segment->start, segment->next, segment->end, false, SegmentPlan::Split{})) {
        segment_requests_.back()->retries = request->retries + 1;
        return false;
      }
      break;  // cannot even start: the task fails with what cut it
    case SegmentEnd::Collapse:
      // A first Range request that cannot continue the file (or never got an answer): the GET
      // continues alone.
      CollapseSegments();
      [[fallthrough]];
    case SegmentEnd::Drop:
      // A split that is not needed or not possible: its donor keeps the range.
      if (first_done_ && segment_requests_.empty()) {
        // Nobody is left to fetch what remains once the GET is gone.
        if (!download_->Segments().Complete()) failure_code_ = kNSURLErrorBadServerResponse;
        return true;
      }
      return false;
    case SegmentEnd::Fail: break;
  }
  // The task fails with what ended the request (its bytes are kept).
  if (download_->WriteFailureCode() != 0)
    failure_code_ = download_->WriteFailureCode();
  else if (!request->answered && (request->refused || request->retries == 0))
    failure_code_ = kNSURLErrorBadServerResponse;  // a resumed plan's range refused
  else
    failure_code_ = result == CURLE_OK ? kNSURLErrorNetworkConnectionLost : NSURLErrorFromCurl(result, 0);
  return true;
}

// Engine thread, in Tick (after libcurl acted): starts the planned Range requests, and continues
// the task's own handle once every segment's answer arrived (libcurl allows neither inside a
// callback of another handle).
void CurlTransfer::SegmentsTick() {
  if (segments_to_start_) {
    segments_to_start_ = false;
    Rebalance();
    // A planned request that cannot even start leaves its segment to the GET.
    if (!download_->ResumedSegments() && segment_requests_.size() + 1 < segment_connections_) CollapseSegments();
    if (first_waiting_ && AllSegmentsAnswered()) unpause_first_ = true;
  }
  if (!unpause_first_) return;
  unpause_first_ = false;
  if (first_done_ || !first_waiting_) return;
  // The next segment's request fetches what waited; the first handle's next bytes end it.
  std::string().swap(first_overflow_);
  first_waiting_ = false;
  ApplyPause();
}

void CurlTransfer::PauseSegmentRequests(bool paused) {
  for (const auto& request : segment_requests_) curl_easy_pause(request->easy, paused ? CURLPAUSE_ALL : CURLPAUSE_CONT);
}

// Engine thread, outside libcurl's callbacks: every other segment's request ends without a word.
void CurlTransfer::DropSegmentRequests() {
  for (const auto& request : segment_requests_) curl_multi_remove_handle(context_.multi, request->easy);
  segment_requests_.clear();
}

}  // namespace urlsession
