// Apple session configuration decisions (see apple_configuration.h). Pure functions.
#include "apple/apple_configuration.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "apple/cookie_jar_file.h"
#include "core/error_codes.h"

namespace urlsession {
namespace {

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string Trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  size_t end = text.find_last_not_of(" \t");
  return begin == std::string::npos ? std::string() : text.substr(begin, end - begin + 1);
}

std::string PercentDecode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::strtol(text.substr(i + 1, 2).c_str(), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// proxy.url: http://[user[:password]@]host[:port][/]. Returns the refusal code, 0 when usable.
int ParseProxyUrl(const std::string& url, AppleProxy* proxy) {
  size_t colon = url.find("://");
  if (colon == std::string::npos) return kNSURLErrorBadURL;
  std::string scheme = Lower(url.substr(0, colon));
  // CFNetwork speaks plain HTTP to every proxy (kCFNetworkProxiesHTTPSProxy is the proxy for
  // https:// requests, reached with CONNECT, not a TLS proxy): an https: proxy is refused
  // rather than silently spoken to in clear text.
  if (scheme != "http") return kNSURLErrorUnsupportedURL;
  std::string authority = url.substr(colon + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  size_t at = authority.rfind('@');
  if (at != std::string::npos) {
    std::string credentials = authority.substr(0, at);
    authority.erase(0, at + 1);
    size_t split = credentials.find(':');
    proxy->user = PercentDecode(credentials.substr(0, split));
    if (split != std::string::npos) proxy->password = PercentDecode(credentials.substr(split + 1));
  }
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return kNSURLErrorBadURL;
    proxy->host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else {
    size_t p = authority.rfind(':');
    proxy->host = authority.substr(0, p);
    if (p != std::string::npos) port = authority.substr(p + 1);
  }
  if (proxy->host.empty()) return kNSURLErrorBadURL;
  if (!port.empty() && !std::all_of(port.begin(), port.end(), ::isdigit)) return kNSURLErrorBadURL;
  // curl's default proxy port is 1080: the same proxy.url reaches the same port on both engines.
  proxy->port = port.empty() ? 1080 : std::atoi(port.c_str());
  if (proxy->port <= 0 || proxy->port > 65535) return kNSURLErrorBadURL;
  proxy->explicitly = true;
  return 0;
}

}  // namespace

bool IsPerRequestHeader(const std::string& name) {
  std::string lower = Lower(name);
  return lower == "authorization" || lower == "host" || lower == "connection" || lower == "proxy-authorization";
}

bool AnswersProxyChallenge(const AppleProxy& proxy, long previousFailureCount) {
  return proxy.explicitly && !proxy.user.empty() && previousFailureCount == 0;
}

bool UsesBackgroundConfiguration(const SessionConfig& config, bool hasBundleIdentifier) {
  return config.persistent && hasBundleIdentifier;
}

AppleConfigurationPlan PlanConfiguration(const SessionConfig& config, bool system) {
  AppleConfigurationPlan plan;
  plan.kind = system                           ? AppleSessionKind::Background
              : !config.stateDirectory.empty() ? AppleSessionKind::Default
                                               : AppleSessionKind::Ephemeral;
  plan.cookieJar = CookieJarFile(config);
  for (const auto& header : config.additionalHeaders) {
    if (!IsPerRequestHeader(header.first)) plan.additionalHeaders.push_back(header);
  }
  // 0 (and Infinity) means "none" on both engines (core/timeouts.h); NSURLSession has no such value.
  plan.requestTimeout =
      IsTimeout(config.timeoutIntervalForRequest) ? config.timeoutIntervalForRequest : kAppleNoTimeoutSeconds;
  plan.resourceTimeout = IsTimeout(config.timeoutIntervalForResource) ? config.timeoutIntervalForResource
                         : system                                     ? kBackgroundResourceTimeoutSeconds
                                                                      : kAppleNoTimeoutSeconds;
  if (config.proxyMode == ProxyMode::Direct) {
    plan.proxy.direct = true;
  } else if (config.proxyMode == ProxyMode::Explicit) {
    plan.refusal = ParseProxyUrl(config.proxyUrl, &plan.proxy);
    // curl's NO_PROXY: a name matches itself and every subdomain; a leading dot changes nothing;
    // "*" alone bypasses the proxy for every host. CFNetwork's list takes "*.name" for the former.
    size_t start = 0;
    while (start <= config.noProxy.size()) {
      size_t comma = config.noProxy.find(',', start);
      std::string entry =
          Lower(Trim(config.noProxy.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
      start = comma == std::string::npos ? config.noProxy.size() + 1 : comma + 1;
      while (!entry.empty() && entry[0] == '.') entry.erase(0, 1);
      if (entry.empty()) continue;
      if (entry == "*") {
        plan.proxy.direct = true;
        continue;
      }
      plan.proxy.exceptions.push_back(entry);
      plan.proxy.exceptions.push_back("*." + entry);
    }
  }
  return plan;
}

}  // namespace urlsession
