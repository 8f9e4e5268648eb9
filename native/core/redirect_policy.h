// Which redirects a task follows and which it refuses, the same on both engines: the curl engine
// follows redirects itself (curl_transfer.cc), the Apple model answers NSURLSession's
// willPerformHTTPRedirection: with it (apple_session_model.cc). Pure functions, any thread.
#pragma once

#include <cctype>
#include <string>

#include "core/error_codes.h"
#include "engine/engine.h"

namespace urlsession {

// 301, 302, 303, 307 and 308 are followed. 300 (Multiple Choices) is the task's answer with its
// body (swift-corelibs-foundation's test_httpRedirectionWithCode300); so are 304 (Not Modified,
// test_httpRedirectionWithCode304), 305 (Use Proxy, deprecated by RFC 9110 15.4.6) and 306
// (unused, RFC 9110 15.4.7). libcurl would follow every 3xx that carries a Location.
inline bool FollowsRedirectStatus(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// "HTTPS://x" -> "https"; "" without a scheme.
inline std::string UrlScheme(const std::string& url) {
  size_t colon = url.find("://");
  if (colon == std::string::npos) return std::string();
  std::string scheme = url.substr(0, colon);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scheme;
}

// The code a redirect from `fromUrl` to `toUrl`, the task's `count`-th, fails with; 0: follow it.
// http and https only (-1002); never from https down to http unless allowsInsecureRedirects
// (-1022); at most maximumRedirects (-1007).
inline int RedirectRefusal(const std::string& fromUrl, const std::string& toUrl, int count,
                           const SessionConfig& config) {
  std::string from = UrlScheme(fromUrl);
  std::string to = UrlScheme(toUrl);
  if (to != "http" && to != "https") return kNSURLErrorUnsupportedURL;
  if (from == "https" && to == "http" && !config.allowsInsecureRedirects)
    return kNSURLErrorAppTransportSecurityRequiresSecureConnection;
  if (count > config.maximumRedirects) return kNSURLErrorHTTPTooManyRedirects;
  return 0;
}

}  // namespace urlsession
