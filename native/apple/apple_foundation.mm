// Foundation <-> plain-value conversions for the Apple engine (see apple_foundation.h).
#import <CFNetwork/CFNetwork.h>
#include <CommonCrypto/CommonDigest.h>

#include "apple/apple_foundation.h"
#include "apple/cookie_jar_file.h"
#include "apple/spki_der.h"
#include "core/file_ops.h"
#include "core/error_codes.h"

namespace urlsession {
namespace {

double Millis(NSDate* from, NSDate* to) {
  return (from == nil || to == nil) ? -1 : [to timeIntervalSinceDate:from] * 1000.0;
}

}  // namespace

NSString* ToNS(const std::string& text) {
  return [[NSString alloc] initWithBytes:text.data() length:text.size() encoding:NSUTF8StringEncoding] ?: @"";
}
std::string ToStd(NSString* text) { return text == nil ? std::string() : std::string(text.UTF8String ?: ""); }
std::string BytesOf(NSData* data) {
  return data == nil ? std::string() : std::string(static_cast<const char*>(data.bytes), data.length);
}

ResponseHead HeadOf(NSURLResponse* response) {
  ResponseHead head;
  if (response == nil) return head;
  head.url = ToStd(response.URL.absoluteString);
  head.expectedLength = response.expectedContentLength;  // NSURLResponseUnknownLength (-1)
  if (![response isKindOfClass:[NSHTTPURLResponse class]]) return head;
  NSHTTPURLResponse* http = (NSHTTPURLResponse*)response;
  head.status = static_cast<int>(http.statusCode);
  for (NSString* name in http.allHeaderFields) {
    id value = http.allHeaderFields[name];
    if ([value isKindOfClass:[NSString class]]) head.headers.emplace_back(ToStd(name), ToStd((NSString*)value));
  }
  return head;
}

// PEM text -> SecCertificateRefs for SecTrustSetAnchorCertificates.
NSArray* CertificatesFromPem(const std::string& pem) {
  NSMutableArray* certificates = [NSMutableArray array];
  const std::string begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----";
  size_t position = 0;
  while ((position = pem.find(begin, position)) != std::string::npos) {
    size_t stop = pem.find(end, position);
    if (stop == std::string::npos) break;
    std::string base64 = pem.substr(position + begin.size(), stop - position - begin.size());
    position = stop + end.size();
    NSData* der = [[NSData alloc] initWithBase64EncodedString:ToNS(base64)
                                                      options:NSDataBase64DecodingIgnoreUnknownCharacters];
    if (der == nil) continue;
    SecCertificateRef certificate = SecCertificateCreateWithData(kCFAllocatorDefault, (__bridge CFDataRef)der);
    if (certificate != nullptr) [certificates addObject:(__bridge_transfer id)certificate];
  }
  return certificates;
}

// base64 sha256 of the leaf's SubjectPublicKeyInfo (spki_der.h). Delegate queue, after the trust
// was evaluated.
std::string SpkiPinOf(SecTrustRef trust) {
  SecCertificateRef leaf = nullptr;
  NSArray* chain = nil;  // keeps the leaf alive on macOS 12+
  if (@available(macOS 12.0, *)) {
    chain = (__bridge_transfer NSArray*)SecTrustCopyCertificateChain(trust);
    if (chain.count > 0) leaf = (__bridge SecCertificateRef)chain[0];
  } else {
    leaf = SecTrustGetCertificateAtIndex(trust, 0);
  }
  if (leaf == nullptr) return std::string();
  SecKeyRef key = SecCertificateCopyKey(leaf);
  if (key == nullptr) return std::string();
  NSData* raw = (__bridge_transfer NSData*)SecKeyCopyExternalRepresentation(key, nullptr);
  NSDictionary* attributes = (__bridge_transfer NSDictionary*)SecKeyCopyAttributes(key);
  CFRelease(key);
  if (raw == nil) return std::string();
  id type = attributes[(__bridge id)kSecAttrKeyType];
  SpkiKeyType kind = [type isEqual:(__bridge id)kSecAttrKeyTypeRSA]                ? SpkiKeyType::Rsa
                     : [type isEqual:(__bridge id)kSecAttrKeyTypeECSECPrimeRandom] ? SpkiKeyType::Ec
                                                                                   : SpkiKeyType::Other;
  std::string spki =
      SubjectPublicKeyInfo(kind, [attributes[(__bridge id)kSecAttrKeySizeInBits] longValue], BytesOf(raw));
  if (spki.empty()) return std::string();
  unsigned char digest[CC_SHA256_DIGEST_LENGTH];
  CC_SHA256(spki.data(), static_cast<CC_LONG>(spki.size()), digest);
  return ToStd([[NSData dataWithBytes:digest length:sizeof(digest)] base64EncodedStringWithOptions:0]);
}

// The code NSURLSession's default handling would report for a refused chain: the tests expect
// -1201 for an expired certificate even when tls.caPem is set, -1202 otherwise.
int TrustFailureCode(CFErrorRef error) {
  switch (error == nullptr ? 0 : CFErrorGetCode(error)) {
    case errSecCertificateExpired: return kNSURLErrorServerCertificateHasBadDate;
    case errSecCertificateNotValidYet: return kNSURLErrorServerCertificateNotYetValid;
    default: return kNSURLErrorServerCertificateUntrusted;
  }
}

TaskMetrics MetricsOf(NSURLSessionTaskMetrics* metrics) {
  TaskMetrics m;
  NSURLSessionTaskTransactionMetrics* last = metrics.transactionMetrics.lastObject;
  if (last == nil) return m;
  m.dnsMs = Millis(last.domainLookupStartDate, last.domainLookupEndDate);
  m.connectMs = Millis(last.connectStartDate, last.connectEndDate);
  m.tlsMs = Millis(last.secureConnectionStartDate, last.secureConnectionEndDate);
  m.firstByteMs = Millis(metrics.taskInterval.startDate, last.responseStartDate);
  m.totalMs = metrics.taskInterval.duration * 1000.0;
  m.redirectCount = static_cast<int>(metrics.redirectCount);
  m.protocol = ToStd(last.networkProtocolName);
  if (last.remoteAddress != nil) {  // macOS 10.15+; IPv6 addresses get brackets, as in URLs
    NSString* format = [last.remoteAddress containsString:@":"] ? @"[%@]:%@" : @"%@:%@";
    m.remoteAddress = ToStd([NSString stringWithFormat:format, last.remoteAddress, last.remotePort ?: @0]);
  }
  for (NSURLSessionTaskTransactionMetrics* transaction in metrics.transactionMetrics) {
    m.bytesSent += transaction.countOfRequestBodyBytesSent;
    m.bytesReceived += transaction.countOfResponseBodyBytesAfterDecoding;
  }
  return m;
}

// JS thread (engine constructor): the Foundation object for PlanConfiguration's decisions.
NSURLSessionConfiguration* MakeConfiguration(const SessionConfig& config, const AppleConfigurationPlan& plan) {
  NSURLSessionConfiguration* c =
      plan.kind == AppleSessionKind::Background
          ? [NSURLSessionConfiguration backgroundSessionConfigurationWithIdentifier:ToNS(config.identifier)]
      : plan.kind == AppleSessionKind::Default ? [NSURLSessionConfiguration defaultSessionConfiguration]
                                               : [NSURLSessionConfiguration ephemeralSessionConfiguration];
  NSMutableDictionary* headers = [NSMutableDictionary dictionary];
  for (const auto& header : plan.additionalHeaders) headers[ToNS(header.first)] = ToNS(header.second);
  c.HTTPAdditionalHeaders = headers;
  c.timeoutIntervalForRequest = plan.requestTimeout;
  c.timeoutIntervalForResource = plan.resourceTimeout;
  c.HTTPMaximumConnectionsPerHost = config.maximumConnectionsPerHost;
  c.URLCache = nil;  // same as the curl engine: no response cache
  c.requestCachePolicy = NSURLRequestReloadIgnoringLocalCacheData;
  c.allowsCellularAccess = config.allowsCellularAccess;
  c.allowsExpensiveNetworkAccess = config.allowsExpensiveNetworkAccess;
  c.allowsConstrainedNetworkAccess = config.allowsConstrainedNetworkAccess;
  switch (config.cookieAcceptPolicy) {
    case CookieAcceptPolicy::Never:
      c.HTTPCookieAcceptPolicy = NSHTTPCookieAcceptPolicyNever;
      c.HTTPShouldSetCookies = NO;
      break;
    case CookieAcceptPolicy::OnlyFromMainDocumentDomain:
      c.HTTPCookieAcceptPolicy = NSHTTPCookieAcceptPolicyOnlyFromMainDocumentDomain;
      break;
    case CookieAcceptPolicy::Always: c.HTTPCookieAcceptPolicy = NSHTTPCookieAcceptPolicyAlways; break;
  }
  if (!plan.cookieJar.empty()) {
    // A private in-memory store (an ephemeral configuration's), filled from and saved to the jar.
    c.HTTPCookieStorage = [NSURLSessionConfiguration ephemeralSessionConfiguration].HTTPCookieStorage;
    LoadCookies(c.HTTPCookieStorage, plan.cookieJar);
  }
  if (plan.proxy.direct) {
    c.connectionProxyDictionary = @{};
  } else if (plan.proxy.explicitly) {
    NSMutableArray* exceptions = [NSMutableArray array];
    for (const std::string& host : plan.proxy.exceptions) [exceptions addObject:ToNS(host)];
    c.connectionProxyDictionary = @{
      (__bridge NSString*)kCFNetworkProxiesHTTPEnable : @1,
      (__bridge NSString*)kCFNetworkProxiesHTTPProxy : ToNS(plan.proxy.host),
      (__bridge NSString*)kCFNetworkProxiesHTTPPort : @(plan.proxy.port),
      (__bridge NSString*)kCFNetworkProxiesHTTPSEnable : @1,
      (__bridge NSString*)kCFNetworkProxiesHTTPSProxy : ToNS(plan.proxy.host),
      (__bridge NSString*)kCFNetworkProxiesHTTPSPort : @(plan.proxy.port),
      (__bridge NSString*)kCFNetworkProxiesExceptionsList : exceptions,
    };
  }
  return c;
}

void LoadCookies(NSHTTPCookieStorage* store, const std::string& jar) {
  NSData* data = [NSData dataWithContentsOfFile:ToNS(jar)];
  if (store == nil || data == nil) return;
  for (const JarCookie& c :
       ParseCookieJar(BytesOf(data), static_cast<int64_t>([[NSDate date] timeIntervalSince1970]))) {
    NSMutableDictionary* properties = [NSMutableDictionary dictionary];
    properties[NSHTTPCookieDomain] = ToNS((c.includeSubdomains ? "." : "") + c.domain);
    properties[NSHTTPCookiePath] = ToNS(c.path);
    properties[NSHTTPCookieName] = ToNS(c.name);
    properties[NSHTTPCookieValue] = ToNS(c.value);
    if (c.secure) properties[NSHTTPCookieSecure] = @"TRUE";
    if (c.expires > 0)
      properties[NSHTTPCookieExpires] = [NSDate dateWithTimeIntervalSince1970:static_cast<double>(c.expires)];
    else
      properties[NSHTTPCookieDiscard] = @"TRUE";
    if (c.httpOnly) properties[@"HttpOnly"] = @"TRUE";  // no public key; NSHTTPCookie reads this one
    NSHTTPCookie* cookie = [NSHTTPCookie cookieWithProperties:properties];
    if (cookie != nil) [store setCookie:cookie];
  }
}

void SaveCookies(NSHTTPCookieStorage* store, const std::string& jar) {
  if (store == nil || jar.empty()) return;
  std::vector<JarCookie> cookies;
  for (NSHTTPCookie* cookie in store.cookies) {
    JarCookie c;
    std::string domain = ToStd(cookie.domain);
    c.includeSubdomains = !domain.empty() && domain[0] == '.';
    c.domain = c.includeSubdomains ? domain.substr(1) : domain;
    c.path = ToStd(cookie.path);
    c.secure = cookie.isSecure;
    c.httpOnly = cookie.isHTTPOnly;
    c.expires = cookie.expiresDate == nil ? 0 : static_cast<int64_t>(cookie.expiresDate.timeIntervalSince1970);
    c.name = ToStd(cookie.name);
    c.value = ToStd(cookie.value);
    cookies.push_back(std::move(c));
  }
  std::string folder = jar.substr(0, jar.rfind('/'));
  if (EnsureDirectory(folder, 0700) == 0) ReplaceFile(jar, WriteCookieJar(cookies));
}

}  // namespace urlsession
