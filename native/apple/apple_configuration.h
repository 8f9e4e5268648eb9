// What NSURLSessionConfiguration an Apple session gets, decided in portable C++ (tested on
// Linux): which configuration, the additional headers it may carry, the timeouts that give
// SessionConfig's numbers the meaning they have on Linux, and the explicit proxy. The .mm only
// copies these values onto the Foundation object. Runs on the JS thread (engine constructor)
// and, for the refusal, on the delegate queue (AppleSessionModel).
#pragma once

#include <string>
#include <vector>

#include "core/timeouts.h"
#include "engine/engine.h"

namespace urlsession {

enum class AppleSessionKind : uint8_t {
  Background,  // backgroundSessionConfigurationWithIdentifier: nsurlsessiond runs the transfers
  Default,     // a stateDirectory: state that outlives the process
  Ephemeral,   // cookies and credentials in memory, private to this session (as the curl engine's)
};

// "No timeout" as NSURLSession can express it (it has no 0-means-none): core/timeouts.h.
constexpr double kAppleNoTimeoutSeconds = kNoTimeoutSeconds;
// Background sessions wait for connectivity and retry on their own, and NSURLSession's default
// resource timeout is 7 days: a dead host never fails. timeoutIntervalForResource 0 gives them
// one day instead (README, macOS).
constexpr double kBackgroundResourceTimeoutSeconds = 24 * 60 * 60;

struct AppleProxy {
  bool direct = false;      // no proxy at all (ProxyMode::Direct, or noProxy "*")
  bool explicitly = false;  // ProxyMode::Explicit with a usable URL
  std::string host;
  int port = 0;
  std::string user, password;           // from proxy.url, for the proxy's authentication challenge
  std::vector<std::string> exceptions;  // kCFNetworkProxiesExceptionsList patterns
};

struct AppleConfigurationPlan {
  AppleSessionKind kind = AppleSessionKind::Ephemeral;
  HeaderList additionalHeaders;  // without the names NSURLSession ignores there (IsPerRequestHeader)
  double requestTimeout = 60;
  double resourceTimeout = kAppleNoTimeoutSeconds;
  AppleProxy proxy;
  // The session's own cookie store is kept in this file (cookie_jar_file.h); "": in memory only.
  // Never the app-group store sharedCookieStorageForGroupContainerIdentifier: names, which lands
  // in ~/Library/Group Containers/<id>, is shared with anything using that string, and may
  // prompt on macOS 15.
  std::string cookieJar;
  int refusal = 0;  // non-zero: the session cannot be honoured; every task fails with this code
};

// Whether a session gets a background configuration: it is persistent and the process has a
// bundle identifier (a packaged app; NSURLSession refuses background sessions without one). Plain
// `node` has none and keeps urlsession's own journal instead ('emulated').
bool UsesBackgroundConfiguration(const SessionConfig& config, bool hasBundleIdentifier);

// `system`: UsesBackgroundConfiguration's answer.
AppleConfigurationPlan PlanConfiguration(const SessionConfig& config, bool system);

// Authorization, Host, Connection, Proxy-Authorization: "reserved" for NSURLSession in
// HTTPAdditionalHeaders; the model puts them on each request instead (case-insensitive name).
bool IsPerRequestHeader(const std::string& name);

// Whether a proxy authentication challenge is answered with proxy.url's credentials: once; a
// second challenge means they were refused (NSURLAuthenticationChallenge.previousFailureCount).
bool AnswersProxyChallenge(const AppleProxy& proxy, long previousFailureCount);

}  // namespace urlsession
