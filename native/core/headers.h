// Header list helpers shared by the engines.
#pragma once

#include <cstdint>

#include "engine/engine.h"

namespace urlsession {

// Session headers first, then request headers; a request header replaces every session
// header with the same name (case-insensitive), as NSURLSession's HTTPAdditionalHeaders do.
HeaderList MergeHeaders(const HeaderList& sessionHeaders, const HeaderList& requestHeaders);

bool HeaderNameEquals(const std::string& a, const std::string& b);

// Finds a header (case-insensitive); nullptr when absent.
const std::string* FindHeader(const HeaderList& headers, const std::string& name);

// Whether the body arrives content-coded (a Content-Encoding other than identity). Both engines
// decode it (libcurl with CURLOPT_ACCEPT_ENCODING, NSURLSession by itself) and hand on the
// decoded bytes, which the Content-Length of the coded body does not count.
bool IsContentCoded(const HeaderList& headers);

// How many body bytes the engine will hand on, as far as the response head tells: its
// Content-Length, or -1 (unknown) when there is none or the body is content-coded (as
// NSURLResponse.expectedContentLength is NSURLResponseUnknownLength for a gzip body).
int64_t DeliveredLength(const HeaderList& headers, int64_t contentLength);

// What If-Range sends to continue the bytes of a response with these headers ("" when nothing
// makes a Range request safe). A coded body is kept decoded and continues with identity bytes
// (DownloadWriter::AddResumeHeaders): the coded representation's ETag names its coded bytes
// (caddy, h2o and nginx give each coding its own) and never matches an identity request, while
// its Last-Modified dates the content both representations share. If-Range needs a strong ETag.
// Both engines put it in the Response event, where lib/persistence.ts journals it.
std::string ResumeValidator(const HeaderList& headers);

}  // namespace urlsession
