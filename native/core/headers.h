// Header list helpers shared by the engines.
#pragma once

#include "engine/engine.h"

namespace urlsession {

// Session headers first, then request headers; a request header replaces every session
// header with the same name (case-insensitive), as NSURLSession's HTTPAdditionalHeaders do.
HeaderList MergeHeaders(const HeaderList& sessionHeaders, const HeaderList& requestHeaders);

bool HeaderNameEquals(const std::string& a, const std::string& b);

// Finds a header (case-insensitive); nullptr when absent.
const std::string* FindHeader(const HeaderList& headers, const std::string& name);

}  // namespace urlsession
