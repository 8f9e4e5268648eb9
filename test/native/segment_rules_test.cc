// The shared rules of segmented downloads (native/core/segment_rules.cc): every reason
// DecideSegmenting keeps a download one request, what RangeAnswerFits refuses, the headers of a
// Range request, and each outcome of DecideSegmentEnd, for the Range requests and for the task's
// own request. Cases of test/native/native_cases.h (PASS/FAIL per case). Driven by test/native/segment-rules.test.ts.
#include <cstdio>
#include <string>

#include "core/error_codes.h"
#include "core/segment_plan.h"
#include "core/segment_rules.h"

#include "native_cases.h"

namespace {

using namespace urlsession;
constexpr int64_t kMin = SegmentPlan::kMinimumSegment;

const HeaderList kRangeable = {{"Accept-Ranges", "bytes"}, {"ETag", "\"v1\""}};

// A first response every rule accepts: 4 segments of a 16-minimum body.
FirstResponseFacts Eligible(const HeaderList* headers = &kRangeable) {
  FirstResponseFacts facts;
  facts.wanted = 4;
  facts.connectionsPerHost = 6;
  facts.status = 200;
  facts.headers = headers;
  facts.contentLength = 16 * kMin;
  return facts;
}

int CountWith(const HeaderList& headers) { return DecideSegmenting(Eligible(&headers)).count; }

CASE(Segmenting) {
  SegmentingVerdict yes = DecideSegmenting(Eligible());
  CHECK(yes.count == 4);
  CHECK(yes.validator == "\"v1\"");

  FirstResponseFacts f = Eligible();
  f.wanted = 1;
  CHECK(DecideSegmenting(f).count == 1);  // not asked for
  CHECK(DecideSegmenting(f).validator.empty());
  f = Eligible();
  f.headers = nullptr;
  CHECK(DecideSegmenting(f).count == 1);
  f = Eligible();
  f.alreadySegmented = true;
  CHECK(DecideSegmenting(f).count == 1);
  f = Eligible();
  f.resumeOffset = 10;  // a resumed download keeps its one request
  CHECK(DecideSegmenting(f).count == 1);
  f = Eligible();
  f.paced = true;
  CHECK(DecideSegmenting(f).count == 1);
  f = Eligible();
  f.status = 206;
  CHECK(DecideSegmenting(f).count == 1);
  f = Eligible();
  f.redirect = true;
  CHECK(DecideSegmenting(f).count == 1);
  f = Eligible();
  f.capturingErrorBody = true;
  CHECK(DecideSegmenting(f).count == 1);
  f = Eligible();
  f.contentLength = -1;  // unknown length
  CHECK(DecideSegmenting(f).count == 1);
  f = Eligible();
  f.contentLength = 2 * kMin - 1;  // too small for two segments
  CHECK(DecideSegmenting(f).count == 1);
  f = Eligible();
  f.connectionsPerHost = 1;  // every segment is a connection of the host
  CHECK(DecideSegmenting(f).count == 1);
  f = Eligible();
  f.connectionsPerHost = 3;
  CHECK(DecideSegmenting(f).count == 3);
  f = Eligible();
  f.connectionsPerHost = 0;  // a nonsense limit counts as one
  CHECK(DecideSegmenting(f).count == 1);

  CHECK(CountWith({{"ETag", "\"v1\""}}) == 1);                                  // no Accept-Ranges
  CHECK(CountWith({{"Accept-Ranges", "none"}, {"ETag", "\"v1\""}}) == 1);       // ranges refused
  CHECK(CountWith({{"Accept-Ranges", "BYTES"}, {"ETag", "\"v1\""}}) == 4);      // case-blind
  CHECK(CountWith({{"Accept-Ranges", "bytes"}}) == 1);                          // no validator
  CHECK(CountWith({{"Accept-Ranges", "bytes"}, {"ETag", "W/\"weak\""}}) == 1);  // a weak ETag is none
  CHECK(CountWith({{"Accept-Ranges", "bytes"}, {"ETag", "\"v1\""}, {"Content-Encoding", "gzip"}}) == 1);
  HeaderList dated = {{"Accept-Ranges", "bytes"}, {"Last-Modified", "Mon, 01 Dec 2025 10:00:00 GMT"}};
  CHECK(DecideSegmenting(Eligible(&dated)).validator == "Mon, 01 Dec 2025 10:00:00 GMT");
}

CASE(RangeAnswers) {
  const int64_t length = 8 * kMin;
  const std::string range = "bytes 100-199/" + std::to_string(length);
  HeaderList fits = {{"Content-Range", range}, {"ETag", "\"v1\""}};
  CHECK(RangeAnswerFits(206, fits, 100, 200, length, "\"v1\""));
  CHECK(RangeAnswerFits(206, {{"Content-Range", range}}, 100, 200, length, "\"v1\""));  // no ETag said
  CHECK(!RangeAnswerFits(200, fits, 100, 200, length, "\"v1\""));                       // the whole body
  CHECK(!RangeAnswerFits(416, fits, 100, 200, length, "\"v1\""));
  CHECK(!RangeAnswerFits(206, fits, 100, 200, length, ""));                        // nothing named the representation
  CHECK(!RangeAnswerFits(206, {{"ETag", "\"v1\""}}, 100, 200, length, "\"v1\""));  // no Content-Range
  CHECK(!RangeAnswerFits(206, fits, 101, 200, length, "\"v1\""));                  // another start
  CHECK(!RangeAnswerFits(206, fits, 100, 201, length, "\"v1\""));                  // another end
  CHECK(!RangeAnswerFits(206, fits, 100, 200, length + 1, "\"v1\""));              // another length
  CHECK(!RangeAnswerFits(206, {{"Content-Range", "bytes 100-199/*"}}, 100, 200, length, "\"v1\""));
  CHECK(!RangeAnswerFits(206, {{"Content-Range", range}, {"ETag", "\"v2\""}}, 100, 200, length, "\"v1\""));
  CHECK(!RangeAnswerFits(206, {{"Content-Range", range}, {"Content-Encoding", "gzip"}}, 100, 200, length, "\"v1\""));
  const std::string date = "Mon, 01 Dec 2025 10:00:00 GMT";
  CHECK(RangeAnswerFits(206, {{"Content-Range", range}, {"Last-Modified", date}}, 100, 200, length, date));
  CHECK(!RangeAnswerFits(206, {{"Content-Range", range}, {"Last-Modified", "Tue, 02 Dec 2025 10:00:00 GMT"}}, 100, 200,
                         length, date));
  // A date validator is compared with Last-Modified only: an ETag beside it does not refuse.
  CHECK(RangeAnswerFits(206, {{"Content-Range", range}, {"ETag", "\"v9\""}}, 100, 200, length, date));
}

CASE(RequestHeaders) {
  HeaderList headers = SegmentRequestHeaders(100, 200, "\"v1\"");
  CHECK(headers.size() == 3);
  CHECK(headers[0].first == "Range" && headers[0].second == "bytes=100-199");
  CHECK(headers[1].first == "If-Range" && headers[1].second == "\"v1\"");
  CHECK(headers[2].first == "Accept-Encoding" && headers[2].second == "identity");
  CHECK(SegmentSetsHeader("range") && SegmentSetsHeader("IF-RANGE") && SegmentSetsHeader("Accept-Encoding"));
  CHECK(!SegmentSetsHeader("Authorization") && !SegmentSetsHeader("Rangey"));
}

SegmentEndFacts Answered() {
  SegmentEndFacts facts;
  facts.answered = true;
  return facts;
}

CASE(RangeRequestEnds) {
  SegmentEndFacts f = Answered();
  f.segmentDone = true;
  CHECK(DecideSegmentEnd(f) == SegmentEnd::Done);
  f.diskFailed = true;  // the disk's failure wins over everything
  CHECK(DecideSegmentEnd(f) == SegmentEnd::Fail);

  f = Answered();  // cut mid-range
  CHECK(DecideSegmentEnd(f) == SegmentEnd::Retry);
  f.retries = kSegmentRetries - 1;
  CHECK(DecideSegmentEnd(f) == SegmentEnd::Retry);
  f.retries = kSegmentRetries;  // the budget is spent
  CHECK(DecideSegmentEnd(f) == SegmentEnd::Fail);
  f = Answered();
  f.canStart = false;  // an invalidating session takes no new request
  CHECK(DecideSegmentEnd(f) == SegmentEnd::Fail);

  SegmentEndFacts split;
  split.split = true;  // refused, or cut before its head: the donor keeps its range
  CHECK(DecideSegmentEnd(split) == SegmentEnd::Drop);
  split.refused = true;
  CHECK(DecideSegmentEnd(split) == SegmentEnd::Drop);

  SegmentEndFacts refused;
  refused.refused = true;  // a first Range request answered otherwise: the GET fetches the rest
  CHECK(DecideSegmentEnd(refused) == SegmentEnd::Collapse);
  refused.retries = 2;  // even a retry's refusal: the server no longer answers ranges
  CHECK(DecideSegmentEnd(refused) == SegmentEnd::Collapse);
  refused.resumedPlan = true;  // the server contradicts its earlier answer
  CHECK(DecideSegmentEnd(refused) == SegmentEnd::Fail);

  SegmentEndFacts unanswered;  // a first request that ended before any head
  CHECK(DecideSegmentEnd(unanswered) == SegmentEnd::Collapse);
  unanswered.retries = 1;  // a retry cut before its head: its range was answered before
  CHECK(DecideSegmentEnd(unanswered) == SegmentEnd::Retry);
  unanswered.retries = kSegmentRetries;
  CHECK(DecideSegmentEnd(unanswered) == SegmentEnd::Fail);
}

SegmentEndFacts Own(int code) {
  SegmentEndFacts facts;
  facts.own = true;
  facts.answered = true;
  facts.code = code;
  return facts;
}

CASE(OwnRequestEnds) {
  CHECK(EndedByCut(kNSURLErrorNetworkConnectionLost) && EndedByCut(kNSURLErrorTimedOut));
  CHECK(!EndedByCut(0) && !EndedByCut(kNSURLErrorCancelled) && !EndedByCut(kNSURLErrorBadServerResponse));

  SegmentEndFacts f = Own(0);
  f.segmentDone = true;  // stopped at its segment's end
  CHECK(DecideSegmentEnd(f) == SegmentEnd::Done);
  f.code = kNSURLErrorNetworkConnectionLost;  // cut after its last byte: done all the same
  CHECK(DecideSegmentEnd(f) == SegmentEnd::Done);

  CHECK(DecideSegmentEnd(Own(kNSURLErrorNetworkConnectionLost)) == SegmentEnd::Retry);
  CHECK(DecideSegmentEnd(Own(kNSURLErrorTimedOut)) == SegmentEnd::Retry);
  CHECK(DecideSegmentEnd(Own(0)) == SegmentEnd::Retry);  // ended short without a word
  f = Own(kNSURLErrorNetworkConnectionLost);
  f.resumedPlan = true;  // a resumed plan's first Range request, the same
  CHECK(DecideSegmentEnd(f) == SegmentEnd::Retry);

  CHECK(DecideSegmentEnd(Own(kNSURLErrorCancelled)) == SegmentEnd::Fail);
  CHECK(DecideSegmentEnd(Own(kNSURLErrorServerCertificateUntrusted)) == SegmentEnd::Fail);
  f = Own(kNSURLErrorNetworkConnectionLost);
  f.diskFailed = true;
  CHECK(DecideSegmentEnd(f) == SegmentEnd::Fail);
  f = Own(kNSURLErrorNetworkConnectionLost);
  f.collapsed = true;  // it fetched the rest alone: nobody else can
  CHECK(DecideSegmentEnd(f) == SegmentEnd::Fail);
  f = Own(kNSURLErrorNetworkConnectionLost);
  f.canStart = false;
  CHECK(DecideSegmentEnd(f) == SegmentEnd::Fail);
}

}  // namespace

int main(int argc, char** argv) { return native_cases::RunCases(argc, argv); }
