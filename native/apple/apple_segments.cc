// The Apple engine's segmented downloads (see apple_segments.h). Delegate queue only.
#include "apple/apple_segments.h"

#include <algorithm>

#include "core/error_codes.h"

namespace urlsession {

std::unique_ptr<AppleSegments> AppleSegments::Begin(const FirstResponseFacts& facts, DownloadWriter* writer,
                                                    const StartPlan& base, const std::string& resumeValidator,
                                                    bool suspended, uint64_t* nextRequest, SegmentWork* work) {
  if (writer->ResumedSegments()) {
    // Resumed from a plan, and the task's own Range request was answered as it must be
    // (BeginResponse): the other unfinished segments continue from their own offsets.
    std::unique_ptr<AppleSegments> segments(
        new AppleSegments(writer, base, resumeValidator, suspended, nextRequest, work));
    segments->first_segment_ = writer->ResumedSegment();
    size_t unfinished = 0;
    for (const Segment& segment : writer->Segments().segments()) unfinished += segment.Done() ? 0 : 1;
    segments->connections_ = std::min(unfinished, static_cast<size_t>(std::max(1, facts.connectionsPerHost)));
    segments->Rebalance();
    return segments;
  }
  SegmentingVerdict verdict = DecideSegmenting(facts);
  if (verdict.count <= 1) return nullptr;
  std::unique_ptr<AppleSegments> segments(
      new AppleSegments(writer, base, verdict.validator, suspended, nextRequest, work));
  segments->connections_ = static_cast<size_t>(verdict.count);
  writer->BeginSegments(SegmentPlan::Even(facts.contentLength, verdict.count));
  segments->Rebalance();
  return segments;
}

AppleSegments::AppleSegments(DownloadWriter* writer, StartPlan base, std::string validator, bool suspended,
                             uint64_t* nextRequest, SegmentWork* work)
    : writer_(writer),
      base_(std::move(base)),
      validator_(std::move(validator)),
      next_request_(nextRequest),
      work_(work),
      suspended_(suspended) {}

AppleSegments::Request* AppleSegments::Find(NsTaskId task) {
  for (Request& request : requests_) {
    if (request.task == task && task != 0) return &request;
  }
  return nullptr;
}

// A plan for the adapter: the task's request with this range's headers, a data task of its own.
bool AppleSegments::StartRequest(int64_t segment, int64_t from, int64_t to, bool split, SegmentPlan::Split how,
                                 int retries) {
  if (!can_start_) return false;
  Request request;
  request.id = ++*next_request_;
  request.start = segment;
  request.from = from;
  request.to = to;
  request.split = split;
  request.how = how;
  request.retries = retries;
  StartPlan plan = base_;
  plan.headers.clear();
  for (const auto& header : base_.headers) {
    if (!SegmentSetsHeader(header.first)) plan.headers.push_back(header);
  }
  for (auto& header : SegmentRequestHeaders(from, to, validator_)) plan.headers.push_back(std::move(header));
  plan.method = "GET";
  plan.type = NsTaskType::Data;
  plan.segmentRequest = request.id;
  plan.startSuspended = suspended_;
  plan.create = true;
  work_->starts.push_back(std::move(plan));
  requests_.push_back(request);
  return true;
}

bool AppleSegments::Created(uint64_t id, NsTaskId task) {
  for (Request& request : requests_) {
    if (request.id == id && request.task == 0) return request.task = task, true;
  }
  return false;
}

void AppleSegments::CreationFailed(uint64_t id, Effects* effects) {
  for (Request& request : requests_) {
    if (request.id == id && request.task == 0) return EndRequest(&request, kNSURLErrorUnknown, effects);
  }
}

bool AppleSegments::AllAnswered() const {
  return std::all_of(requests_.begin(), requests_.end(),
                     [](const Request& request) { return request.answered || request.split; });
}

// Whether some request fetches (or, unanswered, is to fetch) the segment starting at `start`.
bool AppleSegments::HasRequest(int64_t start) const {
  if (start == first_segment_ && !first_done_ && !first_stopping_) return true;
  return std::any_of(requests_.begin(), requests_.end(), [start](const Request& request) {
    return request.start == start && (!request.split || request.answered);
  });
}

// As CurlTransfer::Rebalance: while fewer requests run than planned, an unfinished segment
// nobody fetches gets a request from its own next offset; else the largest remaining range of a
// running, answered one is split and a new request takes its second half (one split per donor).
void AppleSegments::Rebalance() {
  if (collapsed_) return;
  size_t running = requests_.size() + (first_done_ || first_stopping_ ? 0 : 1);
  while (running < connections_) {
    const Segment* orphan = nullptr;
    for (const Segment& segment : writer_->Segments().segments()) {
      if (segment.Done() || HasRequest(segment.start)) continue;
      orphan = &segment;
      break;
    }
    if (orphan != nullptr) {
      if (!StartRequest(orphan->start, orphan->next, orphan->end, false, SegmentPlan::Split{}, 0)) return;
      ++running;
      continue;
    }
    auto split = writer_->Segments().ProposeSplit([this](int64_t start) {
      bool fetching = (start == first_segment_ && !first_done_ && !first_stopping_ && !first_waiting_) ||
                      std::any_of(requests_.begin(), requests_.end(), [start](const Request& request) {
                        return request.answered && request.start == start;
                      });
      return fetching && std::none_of(requests_.begin(), requests_.end(), [start](const Request& request) {
               return request.split && !request.answered && request.how.donor == start;
             });
    });
    if (!split || !StartRequest(split->at, split->at, split->end, true, *split, 0)) return;
    ++running;
  }
}

int64_t AppleSegments::FirstData(const char* bytes, size_t length, Effects* effects) {
  // Cancelled at its end: what it still delivers is another segment's. Waiting: kept, for a
  // collapse (NSURLSession.h, -suspend: "There may still be delegate calls made on behalf of
  // this task (for instance, to report data received while suspending)").
  if (first_stopping_) return 0;
  if (first_waiting_) {
    first_overflow_.append(bytes, length);
    return 0;
  }
  const Segment* first = writer_->Segments().Find(first_segment_);
  size_t room = first == nullptr ? 0 : static_cast<size_t>(std::max<int64_t>(0, first->end - first->next));
  size_t fits = std::min(room, length);
  int64_t took = fits == 0 ? 0 : writer_->WriteSegment(first_segment_, bytes, fits);
  if (took < 0) return -1;
  if (fits == length && (first == nullptr || !first->Done() || collapsed_)) return took;
  // At its segment's end. Past it only once every other segment is known to come: until then
  // it may have to fetch everything itself, so it waits, suspended, with what it read past it.
  if (!collapsed_ && !AllAnswered()) {
    first_overflow_.assign(bytes + fits, length - fits);
    first_waiting_ = true;
    effects->holdFirst = true;
    return took;
  }
  first_stopping_ = true;
  effects->cancelFirst = true;
  Rebalance();
  return took;
}

// Every segment's answer is known while the first task waits at its end: the next segment's
// request fetches what it had read past it, and the first task is done.
void AppleSegments::WaitingAnswered(Effects* effects) {
  if (!first_waiting_ || !AllAnswered()) return;
  first_waiting_ = false;
  std::string().swap(first_overflow_);
  if (first_done_) {
    AfterSegmentEnded(effects);
    return;
  }
  first_stopping_ = true;
  effects->cancelFirst = true;
  Rebalance();
}

bool AppleSegments::FirstEnded(int code, bool cancelledByUser, Effects* effects) {
  if (cancelledByUser) return false;
  if (first_stopping_) {
    // Our cancel at its segment's end (or its last byte racing it): its success.
    first_stopping_ = false;
    first_done_ = true;
    AfterSegmentEnded(effects);
    return true;
  }
  const Segment* own = writer_->Segments().Find(first_segment_);
  SegmentEndFacts facts;
  facts.own = true;
  facts.code = code;
  facts.collapsed = collapsed_;
  facts.answered = true;
  facts.segmentDone = own == nullptr || own->Done();
  facts.diskFailed = writer_->WriteFailureCode() != 0;
  facts.resumedPlan = writer_->ResumedSegments();
  facts.canStart = can_start_;
  switch (DecideSegmentEnd(facts)) {
    case SegmentEnd::Done:
      first_done_ = true;
      if (first_waiting_) return true;  // what it read past its end waits for the answers
      AfterSegmentEnded(effects);
      return true;
    case SegmentEnd::Retry:
      // Cut mid-range: its segment goes on as a Range data task of its own, from what it wrote;
      // the task's record (response, metrics) stays the first task's.
      if (!StartRequest(own->start, own->next, own->end, false, SegmentPlan::Split{}, 1)) break;
      first_done_ = true;
      return true;
    default: break;
  }
  if (code != 0) return false;  // the task fails with what ended its request
  // Ended short without a word, and nobody can go on: the range is lost as if cut.
  first_done_ = true;
  effects->failure = kNSURLErrorNetworkConnectionLost;
  return true;
}

bool AppleSegments::Response(NsTaskId task, int status, const HeaderList& headers, int refusal, Effects* effects) {
  Request* request = Find(task);
  if (request == nullptr) return false;
  if (refusal != 0 ||
      !RangeAnswerFits(status, headers, request->from, request->to, writer_->Segments().length(), validator_)) {
    request->refused = true;  // its completion (NSURLSessionResponseCancel: -999) decides
    return false;
  }
  // A split takes its range from the donor only now; when the donor has passed the midpoint
  // meanwhile, the new request is not needed.
  if (request->split && !writer_->Segments().ApplySplit(request->how)) {
    request->refused = true;
    return false;
  }
  request->answered = true;
  WaitingAnswered(effects);
  return true;
}

int64_t AppleSegments::Data(NsTaskId task, const char* bytes, size_t length, Effects* effects) {
  Request* request = Find(task);
  if (request == nullptr || !request->answered) return 0;  // dropped, refused: not the file's bytes
  int64_t took = writer_->WriteSegment(request->start, bytes, length);
  if (took < 0) return -1;
  const Segment* segment = writer_->Segments().Find(request->start);
  if (segment == nullptr || !segment->Done()) return took;
  // Its segment is complete (perhaps shortened by a split): the rest of its range is another's.
  Release(*request);
  AfterSegmentEnded(effects);
  return took;
}

void AppleSegments::Ended(NsTaskId task, int code, Effects* effects) {
  Request* found = Find(task);
  if (found == nullptr) return;  // released already: its end was decided then
  EndRequest(found, code, effects);
}

void AppleSegments::EndRequest(Request* found, int code, Effects* effects) {
  Request request = *found;
  requests_.erase(requests_.begin() + (found - requests_.data()));
  const Segment* segment = writer_->Segments().Find(request.start);
  SegmentEndFacts facts;
  facts.split = request.split;
  facts.answered = request.answered;
  facts.refused = request.refused;
  facts.segmentDone = segment != nullptr && segment->Done();
  facts.diskFailed = writer_->WriteFailureCode() != 0;
  facts.resumedPlan = writer_->ResumedSegments();
  facts.retries = request.retries;
  facts.canStart = can_start_;
  switch (DecideSegmentEnd(facts)) {
    case SegmentEnd::Done: return AfterSegmentEnded(effects);
    case SegmentEnd::Retry:
      // Cut mid-range: the same segment again, from what it has written.
      if (segment != nullptr &&
          StartRequest(segment->start, segment->next, segment->end, false, SegmentPlan::Split{}, request.retries + 1))
        return;
      break;
    case SegmentEnd::Collapse:
      Collapse(effects);
      if (first_done_) AfterSegmentEnded(effects);
      return;
    case SegmentEnd::Drop:
      WaitingAnswered(effects);
      if (first_done_) AfterSegmentEnded(effects);
      return;
    case SegmentEnd::Fail: break;
  }
  if (writer_->WriteFailureCode() != 0)
    effects->failure = writer_->WriteFailureCode();
  else if (!request.answered && (request.refused || request.retries == 0))
    effects->failure = kNSURLErrorBadServerResponse;  // a resumed plan's range refused
  else
    effects->failure = code != 0 ? code : kNSURLErrorNetworkConnectionLost;
}

// A segment's request is over: more requests may start, and once the first task is done and
// no request is left the task is complete (or, with a range nobody fetches, cannot be).
void AppleSegments::AfterSegmentEnded(Effects* effects) {
  Rebalance();
  if (!first_done_ || !requests_.empty()) return;
  if (first_waiting_) return;  // its last bytes wait for answers no request is left to give
  if (writer_->Segments().Complete())
    effects->complete = true;
  else
    effects->failure = kNSURLErrorBadServerResponse;
}

// The body cannot be fetched in ranges after all: every other request goes, and the first task
// fetches the rest alone from where it is (what waited past its end continues the file).
void AppleSegments::Collapse(Effects* effects) {
  if (collapsed_) return;
  collapsed_ = true;
  CancelAll();
  writer_->Segments().Collapse();
  first_segment_ = 0;
  connections_ = 1;
  if (!first_waiting_) return;
  first_waiting_ = false;
  int64_t took = writer_->WriteSegment(0, first_overflow_.data(), first_overflow_.size());
  std::string().swap(first_overflow_);
  if (took < 0) {
    effects->failure = writer_->WriteFailureCode();
    return;
  }
  if (!first_done_) effects->releaseFirst = true;
}

void AppleSegments::Paced(Effects* effects) {
  if (!first_done_ && !first_stopping_) Collapse(effects);
}

void AppleSegments::Release(Request& request) {
  if (request.task != 0) work_->commands.push_back({TaskAction::Cancel, request.task});
  requests_.erase(requests_.begin() + (&request - requests_.data()));
}

void AppleSegments::SetSuspended(bool suspended) {
  if (suspended_ == suspended) return;
  suspended_ = suspended;
  for (const Request& request : requests_) {
    if (request.task != 0)
      work_->commands.push_back({suspended ? TaskAction::Suspend : TaskAction::Resume, request.task});
  }
}

// A request whose task the adapter has not created yet loses its plan instead.
void AppleSegments::CancelAll() {
  for (const Request& request : requests_) {
    if (request.task != 0) work_->commands.push_back({TaskAction::Cancel, request.task});
    auto& starts = work_->starts;
    starts.erase(std::remove_if(starts.begin(), starts.end(),
                                [&](const StartPlan& plan) { return plan.segmentRequest == request.id; }),
                 starts.end());
  }
  requests_.clear();
}

}  // namespace urlsession
