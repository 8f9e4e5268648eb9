// The shared rules of segmented downloads (see segment_rules.h). Any thread; no state.
#include "core/segment_rules.h"

#include <strings.h>

#include <algorithm>

#include "core/error_codes.h"
#include "core/headers.h"
#include "core/segment_plan.h"

namespace urlsession {

SegmentingVerdict DecideSegmenting(const FirstResponseFacts& f) {
  SegmentingVerdict verdict;
  if (f.wanted <= 1 || f.headers == nullptr || f.alreadySegmented || f.resumeOffset != 0) return verdict;
  // A paced download is bounded by its limit, not by one connection: it stays one request.
  if (f.paced || f.status != 200 || f.redirect || f.capturingErrorBody) return verdict;
  const std::string* ranges = FindHeader(*f.headers, "Accept-Ranges");
  if (ranges == nullptr || strcasecmp(ranges->c_str(), "bytes") != 0 || IsContentCoded(*f.headers)) return verdict;
  std::string validator = ResumeValidator(*f.headers);
  if (validator.empty() || f.contentLength <= 0) return verdict;
  int count = SegmentPlan::CountFor(f.contentLength, std::min(f.wanted, std::max(1, f.connectionsPerHost)));
  if (count <= 1) return verdict;
  verdict.count = count;
  verdict.validator = std::move(validator);
  return verdict;
}

bool RangeAnswerFits(int status, const HeaderList& headers, int64_t from, int64_t to, int64_t length,
                     const std::string& validator) {
  if (status != 206 || validator.empty()) return false;
  const std::string* range = FindHeader(headers, "Content-Range");
  std::string wanted = "bytes " + std::to_string(from) + "-" + std::to_string(to - 1) + "/" + std::to_string(length);
  if (range == nullptr || *range != wanted || IsContentCoded(headers)) return false;
  bool entityTag = validator[0] == '"' || validator.compare(0, 2, "W/") == 0;
  const std::string* own = FindHeader(headers, entityTag ? "ETag" : "Last-Modified");
  return own == nullptr || *own == validator;
}

bool SegmentSetsHeader(const std::string& name) {
  return HeaderNameEquals(name, "Range") || HeaderNameEquals(name, "If-Range") ||
         HeaderNameEquals(name, "Accept-Encoding");
}

HeaderList SegmentRequestHeaders(int64_t from, int64_t to, const std::string& validator) {
  return {{"Range", "bytes=" + std::to_string(from) + "-" + std::to_string(to - 1)},
          {"If-Range", validator},
          {"Accept-Encoding", "identity"}};
}

bool EndedByCut(int code) { return code == kNSURLErrorNetworkConnectionLost || code == kNSURLErrorTimedOut; }

SegmentEnd DecideSegmentEnd(const SegmentEndFacts& f) {
  if (f.diskFailed) return SegmentEnd::Fail;
  bool mayRetry = f.retries < kSegmentRetries && f.canStart;
  if (f.own) {
    if (f.segmentDone) return SegmentEnd::Done;
    // Alone (collapsed), nobody else can fetch in ranges; any other error (a refused
    // certificate, a cancel, the task's own timeout) is the task's.
    if (f.collapsed || (f.code != 0 && !EndedByCut(f.code))) return SegmentEnd::Fail;
    // Cut mid-range (or ended short without a word): its segment continues as a Range request
    // of its own from its next offset; the other segments keep their bytes.
    return mayRetry ? SegmentEnd::Retry : SegmentEnd::Fail;
  }
  if (f.answered) {
    if (f.segmentDone) return SegmentEnd::Done;
    // Cut mid-range: the bytes it wrote stay, the rest is asked for again.
    return mayRetry ? SegmentEnd::Retry : SegmentEnd::Fail;
  }
  if (f.split) return SegmentEnd::Drop;
  // A retry cut again before its head: the range was answered before, ask again.
  if (!f.refused && f.retries > 0) return mayRetry ? SegmentEnd::Retry : SegmentEnd::Fail;
  // A resumed plan's request refused after the task's own was accepted: the server contradicts
  // itself (the journaled plan and bytes stay).
  if (f.resumedPlan) return SegmentEnd::Fail;
  return SegmentEnd::Collapse;
}

}  // namespace urlsession
