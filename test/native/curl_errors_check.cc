// Prints how every CURLcode of the libcurl we build against maps onto NSURLErrorDomain, one line
// per code: "<CURLcode>\t<NSURLError code>\t<its description>\t<libcurl's name for it>". The first
// line is "generic\t<the text of a code DescribeNSURLError does not know>"; the last is
// "last\t<CURL_LAST>". test/native/curl-errors.test.ts compiles and runs it and judges the lines.
#include <curl/curl.h>

#include <cstdio>

#include "core/error_codes.h"
#include "curl/curl_errors.h"

int main() {
  std::printf("generic\t%s\n", urlsession::DescribeNSURLError(1));
  for (int value = CURLE_OK; value < CURL_LAST; ++value) {
    CURLcode result = static_cast<CURLcode>(value);
    int code = urlsession::NSURLErrorFromCurl(result, 0);
    std::printf("%d\t%d\t%s\t%s\n", value, code, urlsession::DescribeNSURLError(code), curl_easy_strerror(result));
  }
  std::printf("last\t%d\n", static_cast<int>(CURL_LAST));
  return 0;
}
