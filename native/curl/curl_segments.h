// One Range request of a segmented download (curl_segments.cc), on an easy handle of its own.
// Owned by its CurlTransfer; engine thread only.
#pragma once

#include <curl/curl.h>

#include <cstdint>

#include "core/segment_plan.h"
#include "curl/curl_transfer.h"

namespace urlsession {

// One Range request of a segmented download, on a handle of its own.
struct CurlTransfer::SegmentRequest {
  CurlTransfer* owner = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  int64_t start = 0;  // the segment it writes (a split's: `split.at`, once answered)
  int64_t from = 0;   // Range: bytes=from-(to-1)
  int64_t to = 0;
  bool split = false;  // a rebalancing request: the donor gives up [how.at, how.end) once answered
  SegmentPlan::Split how;
  bool answered = false;  // a fitting 206 head arrived
  bool refused = false;   // any other answer (or a split no longer needed): dropped
  int retries = 0;        // how often this segment's request was sent again (core/segment_rules.h)
  HeaderList response_headers;
  char error[CURL_ERROR_SIZE] = {0};

  ~SegmentRequest() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }
};

}  // namespace urlsession
