// The rules of a segmented download (issue 18) that every engine applies the same way: whether a
// first response may be split into Range requests, whether a Range request's answer continues the
// file, the headers a Range request carries, and what happens when a segment's request ends
// before its range did, the task's own request included (retried from its own next offset a
// bounded number of times). Pure logic, no I/O; used on the thread of the engine that runs the
// download (curl_segments.cc, apple_segments.cc). The byte ranges themselves:
// core/segment_plan.h.
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine.h"

namespace urlsession {

// What the engine knows of a download's first response when its head has arrived.
struct FirstResponseFacts {
  int wanted = 0;              // TaskRequest::segments
  int connectionsPerHost = 1;  // SessionConfig::maximumConnectionsPerHost
  int status = 0;
  const HeaderList* headers = nullptr;
  int64_t contentLength = -1;  // of the identity body; -1: unknown
  bool redirect = false;       // the response is a redirect being followed
  bool paced = false;          // a speed limit holds the download
  bool capturingErrorBody = false;
  bool alreadySegmented = false;  // resumed from a plan, or planned already
  int64_t resumeOffset = 0;       // bytes kept from an earlier attempt
};

struct SegmentingVerdict {
  int count = 1;          // 1: stays one request
  std::string validator;  // what every Range request's If-Range sends
};

// A 200 with Accept-Ranges: bytes, a known length of at least twice the minimum segment, a
// validator for If-Range and no content coding, of a fresh download that no speed limit paces
// (it is bounded by its limit, not by one connection) and whose body is the file (not an error
// page being captured): as many segments as asked for, within the host's connection limit
// (every segment is a connection of it over HTTP/1.1) and SegmentPlan::CountFor.
SegmentingVerdict DecideSegmenting(const FirstResponseFacts& facts);

// A 206 for exactly bytes [from, to) of a body `length` long, in identity bytes, of the
// representation If-Range named (as far as its ETag or Last-Modified tells).
bool RangeAnswerFits(int status, const HeaderList& headers, int64_t from, int64_t to, int64_t length,
                     const std::string& validator);

// Range requests set these themselves: the task's own values of them are left out.
bool SegmentSetsHeader(const std::string& name);
// Range: bytes=from-(to-1), If-Range: validator, Accept-Encoding: identity (the range counts
// identity bytes: nothing to decode).
HeaderList SegmentRequestHeaders(int64_t from, int64_t to, const std::string& validator);

// How often one segment's request may end before its range did (a connection cut mid-range) and
// be sent again from the segment's next offset, before the download fails with that error. The
// task's own request cut mid-range counts against its segment's budget the same way.
constexpr int kSegmentRetries = 3;

// Whether a request that ended with this NSURLError code was cut mid-body (the connection lost
// or reset, the request timed out): what another request for the same range may recover from.
bool EndedByCut(int code);

// What ended a segment's request: one of the Range requests, or the task's own (the GET that
// keeps the first segment, or a resumed plan's first Range request) once the plan began.
struct SegmentEndFacts {
  bool own = false;          // the task's own request (its head was accepted: it is answered)
  int code = 0;              // the NSURLError code it ended with (0: none); read for `own`
  bool collapsed = false;    // the task's own request fetches the rest alone (read for `own`)
  bool split = false;        // a rebalancing request
  bool answered = false;     // a fitting 206 head arrived (RangeAnswerFits, and the split applied)
  bool refused = false;      // any other head arrived (or the split was no longer needed)
  bool segmentDone = false;  // its segment has every byte
  bool diskFailed = false;   // the download's file refused bytes
  bool resumedPlan = false;  // the download resumed from a journaled plan
  int retries = 0;           // how often this segment's request was sent again already
  bool canStart = true;      // a new request can still be sent (an invalidating session takes none)
};

enum class SegmentEnd {
  Done,      // the segment is complete: rebalance
  Retry,     // send the segment's request again, from its next offset, retries + 1 (for the
             // task's own request: a Range request of its own, retries 1)
  Collapse,  // the body cannot be fetched in ranges: the task's own request fetches the rest
  Drop,      // a split that did not happen: its donor keeps the range
  Fail,      // the task fails (the engine names the code: the disk's, the transfer's, a bad answer)
};

SegmentEnd DecideSegmentEnd(const SegmentEndFacts& facts);

}  // namespace urlsession
