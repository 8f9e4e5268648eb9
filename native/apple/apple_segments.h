// Segmented downloads of the Apple engine's default sessions (issue 18), as portable C++: the
// task's own NSURLSessionDataTask keeps the first segment and extra data tasks fetch the others
// with Range requests, each written at its own offsets (DownloadWriter::WriteSegment), by the
// rules the curl engine applies too (core/segment_rules.h). NSURLSession cannot refuse bytes, so
// the first task writes only up to its segment's end and waits there, suspended, until every
// other segment's answer is known: then it is cancelled (the next segment's request fetches what
// it had read past its end), or it goes on alone when an answer did not fit (collapse). A request
// cut mid-range, the first task's too, is followed by a Range task from its segment's next offset
// (DecideSegmentEnd).
// Background sessions never segment: nsurlsessiond owns their one file.
//
// One instance per segmented task, owned by AppleSessionModel's task record and used on the
// session's delegate queue only (like the model). It never posts events: it returns Effects the
// model applies to the task (holds, cancel, completion) and queues the Range tasks to create and
// the commands on them in the model's SegmentWork.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apple/apple_session_model.h"
#include "core/download_writer.h"
#include "core/segment_plan.h"
#include "core/segment_rules.h"

namespace urlsession {

// What the model does to the user's task after a call of AppleSegments.
struct SegmentEffects {
  bool holdFirst = false;     // suspend the first task: it waits at its segment's end
  bool releaseFirst = false;  // it goes on alone (collapse)
  bool cancelFirst = false;   // its segment is done: the next segment's request fetches on
  bool complete = false;      // every byte is written: the task succeeds
  int failure = 0;            // the task fails with this NSURLError code
};

class AppleSegments {
 public:
  using Effects = SegmentEffects;

  // The first task's response was accepted by `writer` (BeginResponse): the segments it gets, or
  // null when the rules keep it one request. A download resumed from a plan continues every
  // unfinished segment. `base`: the task's request (url, headers, timeout, priority) as
  // PlanRequest made it; `suspended`: the user holds the task; `nextRequest`: the model's
  // counter of segment requests.
  static std::unique_ptr<AppleSegments> Begin(const FirstResponseFacts& facts, DownloadWriter* writer,
                                              const StartPlan& base, const std::string& resumeValidator, bool suspended,
                                              uint64_t* nextRequest, SegmentWork* work);

  // The adapter created the Range task of a queued plan. False: it is no longer wanted.
  bool Created(uint64_t request, NsTaskId task);
  // ... or could not: as a request that ended without an answer.
  void CreationFailed(uint64_t request, Effects* effects);
  // The first task's body bytes: those within its segment are written. Returns how many were
  // (-1: the disk refused them).
  int64_t FirstData(const char* bytes, size_t length, Effects* effects);
  // The first task's didCompleteWithError: with `code`. True: the task goes on (its segments
  // run, its last bytes wait for their answers, or a cut mid-range left its segment to a Range
  // task of its own); false: the model finishes it as usual.
  bool FirstEnded(int code, bool cancelledByUser, Effects* effects);
  bool FirstDone() const { return first_done_; }
  // A Range task's didReceiveResponse: true: NSURLSessionResponseAllow. `refusal`: the model's
  // own verdict on the answer (an unverified host), 0 if none.
  bool Response(NsTaskId task, int status, const HeaderList& headers, int refusal, Effects* effects);
  // A Range task's bytes: written at its segment's offsets, unless it is no longer answered (a
  // cancel asked for, a refusal). Returns how many were written (-1: the disk refused).
  int64_t Data(NsTaskId task, const char* bytes, size_t length, Effects* effects);
  // A Range task's didCompleteWithError: with `code` (0: none).
  void Ended(NsTaskId task, int code, Effects* effects);
  // The user's suspend and resume, applied to every Range task.
  void SetSuspended(bool suspended);
  // A speed limit now paces the task: while the first task still runs it goes on alone (a
  // paced download is one request); once its segment is done the others run to their ends.
  void Paced(Effects* effects);
  // The task ends (completion, failure, cancel): every Range task still running is cancelled.
  void CancelAll();
  // No new NSURLSessionTask may be created (the session is invalidating).
  void StopStarting() { can_start_ = false; }

 private:
  struct Request {
    uint64_t id = 0;
    NsTaskId task = 0;  // 0 until Created
    int64_t start = 0;  // the segment it writes (a split's: how.at, once answered)
    int64_t from = 0, to = 0;
    bool split = false;
    SegmentPlan::Split how;
    bool answered = false, refused = false;
    int retries = 0;
  };
  AppleSegments(DownloadWriter* writer, StartPlan base, std::string validator, bool suspended, uint64_t* nextRequest,
                SegmentWork* work);
  Request* Find(NsTaskId task);
  void EndRequest(Request* found, int code, Effects* effects);
  bool StartRequest(int64_t segment, int64_t from, int64_t to, bool split, SegmentPlan::Split how, int retries);
  bool AllAnswered() const;
  bool HasRequest(int64_t start) const;
  void Rebalance();
  void Collapse(Effects* effects);
  void Release(Request& request);  // cancels its task and forgets it
  void AfterSegmentEnded(Effects* effects);
  void WaitingAnswered(Effects* effects);

  DownloadWriter* const writer_;
  const StartPlan base_;
  const std::string validator_;
  uint64_t* const next_request_;
  SegmentWork* const work_;
  std::vector<Request> requests_;
  size_t connections_ = 0;
  int64_t first_segment_ = 0;
  bool suspended_ = false;
  bool can_start_ = true;
  bool collapsed_ = false;
  bool first_waiting_ = false;   // suspended at its segment's end until every answer is known
  bool first_stopping_ = false;  // cancelled at its segment's end: its completion is its success
  bool first_done_ = false;      // its NSURLSessionTask completed; the Range tasks go on
  std::string first_overflow_;   // what it read past its segment's end while it waits
};

}  // namespace urlsession
