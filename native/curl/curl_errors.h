// Maps libcurl results onto NSURLErrorDomain codes so both engines report the same numbers.
#pragma once

#include <curl/curl.h>

namespace urlsession {

// `verifyResult` is CURLINFO_SSL_VERIFYRESULT (an X509_V_ERR_* value) for TLS failures.
int NSURLErrorFromCurl(CURLcode result, long verifyResult);

}  // namespace urlsession
