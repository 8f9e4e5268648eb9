// Conversions between Foundation objects and the plain values of the Apple model
// (apple_session_model.h, apple_configuration.h): strings, response heads, metrics, the
// NSURLSessionConfiguration of a plan, certificates and SPKI pins. Objective-C++ header, for the
// .mm files only. Every function runs on whichever thread its caller is on and keeps no state.
#pragma once

#import <Foundation/Foundation.h>
#import <Security/Security.h>

#include <string>

#include "apple/apple_configuration.h"
#include "apple/apple_session_model.h"

namespace urlsession {

NSString* ToNS(const std::string& text);
std::string ToStd(NSString* text);
std::string BytesOf(NSData* data);
ResponseHead HeadOf(NSURLResponse* response);
TaskMetrics MetricsOf(NSURLSessionTaskMetrics* metrics);
// PEM text -> SecCertificateRefs for SecTrustSetAnchorCertificates.
NSArray* CertificatesFromPem(const std::string& pem);
// base64 sha256 of the leaf's SubjectPublicKeyInfo, after the trust was evaluated; "" if unknown.
std::string SpkiPinOf(SecTrustRef trust);
// The NSURLError code NSURLSession's default handling would report for a refused chain.
int TrustFailureCode(CFErrorRef error);
NSURLSessionConfiguration* MakeConfiguration(const SessionConfig& config, const AppleConfigurationPlan& plan);
// The session's own cookie store <-> its jar file (cookie_jar_file.h). NSHTTPCookieStorage is
// thread-safe: any thread. Save: errors leave the earlier file as it was.
void LoadCookies(NSHTTPCookieStorage* store, const std::string& jar);
void SaveCookies(NSHTTPCookieStorage* store, const std::string& jar);

}  // namespace urlsession
