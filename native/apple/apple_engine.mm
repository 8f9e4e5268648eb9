// NSURLSession adapter (Objective-C++, ARC): translation only. Delegate callbacks become plain
// values for AppleSessionModel (apple_session_model.h), which decides everything; the Commands
// it returns are performed here on the real NSURLSessionTask objects. The only per-task state
// here is the NSURLSessionTask* behind each NSURLSessionTask.taskIdentifier.
//
// Threading: every delegate callback runs on one private serial NSOperationQueue (never the
// main queue: plain Node does not pump the main run loop); Engine methods, called on the JS
// thread, only enqueue blocks onto it. The model is therefore only ever used on that queue,
// except Close() (JS thread, Shutdown), which silences posting at once.
//
// Background sessions (a bundled app and a persistent session): one NSURLSession per identifier
// per process, never invalidated at teardown (NSURLSession.h: re-creating an identifier before
// didBecomeInvalidWithError: is unsafe, and nsurlsessiond deletes a finished download's file when
// its delegate callback returns). A new environment creating that identifier re-points the
// existing delegate at its own model.

#import <CFNetwork/CFNetwork.h>
#import <Foundation/Foundation.h>
#import <Security/Security.h>
#include <CommonCrypto/CommonDigest.h>

#include <mutex>
#include <string>
#include <unordered_map>

#include "apple/apple_configuration.h"
#include "apple/apple_engine.h"
#include "apple/apple_session_model.h"
#include "apple/spki_der.h"
#include "core/error_codes.h"

using urlsession::AppleSessionModel;
using urlsession::Commands;
using urlsession::NsTaskId;

// The one delegate of a session; every method runs on the session's serial delegate queue.
@interface URLSessionEngineDelegate : NSObject <NSURLSessionDataDelegate, NSURLSessionDownloadDelegate>
@property(nonatomic, strong) NSArray* anchors;  // tls.caPem as SecCertificateRefs
- (void)attach:(std::shared_ptr<AppleSessionModel>)model proxy:(urlsession::AppleProxy)proxy;  // delegate queue
- (std::shared_ptr<AppleSessionModel>)model;
- (void)track:(NSURLSessionTask*)task;
- (void)perform:(const Commands&)commands;
- (AppleSessionModel*)enter:(NSURLSessionTask*)task;
@end

namespace urlsession {

// One NSURLSession with its queue and delegate; background ones outlive their engine.
struct SessionObjects {
  NSURLSession* session = nil;
  NSOperationQueue* queue = nil;
  URLSessionEngineDelegate* delegate = nil;
};

namespace {

NSString* ToNS(const std::string& text) { return [[NSString alloc] initWithBytes:text.data() length:text.size() encoding:NSUTF8StringEncoding] ?: @""; }
std::string ToStd(NSString* text) { return text == nil ? std::string() : std::string(text.UTF8String ?: ""); }
std::string BytesOf(NSData* data) { return data == nil ? std::string() : std::string(static_cast<const char*>(data.bytes), data.length); }

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
    NSData* der = [[NSData alloc] initWithBase64EncodedString:ToNS(base64) options:NSDataBase64DecodingIgnoreUnknownCharacters];
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
  std::string spki = SubjectPublicKeyInfo(kind, [attributes[(__bridge id)kSecAttrKeySizeInBits] longValue], BytesOf(raw));
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

double Millis(NSDate* from, NSDate* to) { return (from == nil || to == nil) ? -1 : [to timeIntervalSinceDate:from] * 1000.0; }

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
      plan.kind == AppleSessionKind::Background ? [NSURLSessionConfiguration backgroundSessionConfigurationWithIdentifier:ToNS(config.identifier)]
      : plan.kind == AppleSessionKind::Default  ? [NSURLSessionConfiguration defaultSessionConfiguration]
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
    case CookieAcceptPolicy::OnlyFromMainDocumentDomain: c.HTTPCookieAcceptPolicy = NSHTTPCookieAcceptPolicyOnlyFromMainDocumentDomain; break;
    case CookieAcceptPolicy::Always: c.HTTPCookieAcceptPolicy = NSHTTPCookieAcceptPolicyAlways; break;
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

// Background sessions by identifier, for the whole process (every JS environment). Guarded by
// the mutex; any JS thread.
std::mutex gBackgroundMutex;
std::unordered_map<std::string, SessionObjects>& BackgroundSessions() {
  static auto* sessions = new std::unordered_map<std::string, SessionObjects>();  // never destroyed
  return *sessions;
}

}  // namespace

struct AppleSessionState {
  std::shared_ptr<AppleSessionModel> model;
  SessionObjects objects;
  bool system = false;
};

}  // namespace urlsession

@implementation URLSessionEngineDelegate {
  std::shared_ptr<AppleSessionModel> _model;
  urlsession::AppleProxy _proxy;
  std::unordered_map<NsTaskId, NSURLSessionTask*> _tasks;  // the objects Commands act on
}

- (void)attach:(std::shared_ptr<AppleSessionModel>)model proxy:(urlsession::AppleProxy)proxy {
  _model = std::move(model);
  _proxy = std::move(proxy);
}

- (std::shared_ptr<AppleSessionModel>)model { return _model; }

- (void)track:(NSURLSessionTask*)task { _tasks[task.taskIdentifier] = task; }

- (void)perform:(const Commands&)commands {
  for (const urlsession::Command& command : commands) {
    auto found = _tasks.find(command.task);
    if (found == _tasks.end()) continue;
    NSURLSessionTask* task = found->second;
    switch (command.action) {
      case urlsession::TaskAction::Suspend: [task suspend]; break;
      case urlsession::TaskAction::Resume: [task resume]; break;
      case urlsession::TaskAction::Cancel: [task cancel]; break;
      case urlsession::TaskAction::CancelProducingResumeData: {
        if (![task isKindOfClass:[NSURLSessionDownloadTask class]]) {
          [task cancel];
          break;
        }
        // The handler's queue is unspecified: hop back onto the delegate queue (this one).
        std::shared_ptr<AppleSessionModel> model = _model;
        NSOperationQueue* queue = [NSOperationQueue currentQueue];
        NsTaskId id = command.task;
        [(NSURLSessionDownloadTask*)task cancelByProducingResumeData:^(NSData* resumeData) {
          [queue addOperationWithBlock:^{
            model->OnResumeDataProduced(id, urlsession::BytesOf(resumeData));
          }];
        }];
        break;
      }
    }
  }
}

// The model for a callback of `task`, after adopting the task if the model says it may be one
// of an earlier process (its tag is in taskDescription). Null when no model is attached.
- (AppleSessionModel*)enter:(NSURLSessionTask*)task {
  if (!_model) return nullptr;
  [self track:task];
  if (_model->NeedsAdoption(task.taskIdentifier)) {
    [self perform:_model->OnRecoveredTask(task.taskIdentifier, urlsession::ToStd(task.taskDescription),
                                          urlsession::ToStd(task.originalRequest.URL.absoluteString),
                                          urlsession::ToStd(task.originalRequest.HTTPMethod), task.state == NSURLSessionTaskStateSuspended)];
  }
  return _model.get();
}

- (void)URLSession:(NSURLSession*)session
              dataTask:(NSURLSessionDataTask*)dataTask
    didReceiveResponse:(NSURLResponse*)response
     completionHandler:(void (^)(NSURLSessionResponseDisposition))completionHandler {
  AppleSessionModel* m = [self enter:dataTask];
  bool allow = m != nullptr && m->OnResponse(dataTask.taskIdentifier, urlsession::HeadOf(response));
  completionHandler(allow ? NSURLSessionResponseAllow : NSURLSessionResponseCancel);
}

- (void)URLSession:(NSURLSession*)session dataTask:(NSURLSessionDataTask*)dataTask didReceiveData:(NSData*)data {
  AppleSessionModel* m = [self enter:dataTask];
  if (m == nullptr) return;
  [data enumerateByteRangesUsingBlock:^(const void* bytes, NSRange range, BOOL* stop) {
    [self perform:m->OnData(dataTask.taskIdentifier, static_cast<const char*>(bytes), range.length)];
  }];
}

- (void)URLSession:(NSURLSession*)session
                        task:(NSURLSessionTask*)task
             didSendBodyData:(int64_t)bytesSent
              totalBytesSent:(int64_t)totalBytesSent
    totalBytesExpectedToSend:(int64_t)totalBytesExpectedToSend {
  if (AppleSessionModel* m = [self enter:task]) m->OnBodySent(task.taskIdentifier, totalBytesSent, totalBytesExpectedToSend);
}

// Download tasks (background sessions) have no didReceiveResponse: the head comes with progress.
- (void)URLSession:(NSURLSession*)session
                 downloadTask:(NSURLSessionDownloadTask*)downloadTask
                 didWriteData:(int64_t)bytesWritten
            totalBytesWritten:(int64_t)totalBytesWritten
    totalBytesExpectedToWrite:(int64_t)totalBytesExpectedToWrite {
  AppleSessionModel* m = [self enter:downloadTask];
  if (m == nullptr) return;
  bool wantHead = m->ResponsePending(downloadTask.taskIdentifier) && downloadTask.response != nil;
  urlsession::ResponseHead head = wantHead ? urlsession::HeadOf(downloadTask.response) : urlsession::ResponseHead();
  [self perform:m->OnDownloadProgress(downloadTask.taskIdentifier, totalBytesWritten, totalBytesExpectedToWrite, wantHead ? &head : nullptr)];
}

// NSURLSession.h: the file at `location` is removed when this method returns; the model moves
// it into place synchronously.
- (void)URLSession:(NSURLSession*)session downloadTask:(NSURLSessionDownloadTask*)downloadTask didFinishDownloadingToURL:(NSURL*)location {
  if (AppleSessionModel* m = [self enter:downloadTask]) {
    m->OnFinishedDownload(downloadTask.taskIdentifier, urlsession::ToStd(location.path), urlsession::HeadOf(downloadTask.response));
  }
}

// Default sessions only (NSURLSession.h: background sessions always follow, without asking).
- (void)URLSession:(NSURLSession*)session
                          task:(NSURLSessionTask*)task
    willPerformHTTPRedirection:(NSHTTPURLResponse*)response
                    newRequest:(NSURLRequest*)request
             completionHandler:(void (^)(NSURLRequest* _Nullable))completionHandler {
  AppleSessionModel* m = [self enter:task];
  Commands commands;
  bool follow = m != nullptr && m->OnRedirect(task.taskIdentifier, urlsession::ToStd(task.currentRequest.URL.absoluteString),
                                              urlsession::ToStd(request.URL.absoluteString), &commands);
  [self perform:commands];  // a refusal cancels before declining (see OnRedirect)
  completionHandler(follow ? request : nil);
}

- (void)URLSession:(NSURLSession*)session
                   task:(NSURLSessionTask*)task
    didReceiveChallenge:(NSURLAuthenticationChallenge*)challenge
      completionHandler:(void (^)(NSURLSessionAuthChallengeDisposition, NSURLCredential* _Nullable))completionHandler {
  AppleSessionModel* m = [self enter:task];
  NSURLProtectionSpace* space = challenge.protectionSpace;
  if (m != nullptr && space.isProxy && urlsession::AnswersProxyChallenge(_proxy, static_cast<long>(challenge.previousFailureCount))) {
    NSURLCredential* credential = [NSURLCredential credentialWithUser:urlsession::ToNS(_proxy.user)
                                                             password:urlsession::ToNS(_proxy.password)
                                                          persistence:NSURLCredentialPersistenceForSession];
    return completionHandler(NSURLSessionAuthChallengeUseCredential, credential);
  }
  SecTrustRef trust = space.serverTrust;
  if (m == nullptr || ![space.authenticationMethod isEqualToString:NSURLAuthenticationMethodServerTrust] || trust == nullptr ||
      !m->ChecksServerTrust()) {
    return completionHandler(NSURLSessionAuthChallengePerformDefaultHandling, nil);
  }
  if (self.anchors.count > 0) {
    // Extra roots on top of the system's: the keychain's trust still applies.
    SecTrustSetAnchorCertificates(trust, (__bridge CFArrayRef)self.anchors);
    SecTrustSetAnchorCertificatesOnly(trust, false);
  }
  // Synchronous and may fetch revocation data: fine here, this is our private queue.
  urlsession::TrustEvaluation evaluation;
  CFErrorRef error = nullptr;
  evaluation.trusted = SecTrustEvaluateWithError(trust, &error);
  evaluation.failureCode = evaluation.trusted ? 0 : urlsession::TrustFailureCode(error);
  if (error != nullptr) CFRelease(error);
  if (evaluation.trusted) evaluation.spkiPin = urlsession::SpkiPinOf(trust);
  evaluation.host = urlsession::ToStd(space.host);
  evaluation.port = static_cast<int>(space.port);
  switch (m->OnServerTrust(task.taskIdentifier, evaluation)) {
    case urlsession::TrustVerdict::DefaultHandling: return completionHandler(NSURLSessionAuthChallengePerformDefaultHandling, nil);
    case urlsession::TrustVerdict::UseCredential: return completionHandler(NSURLSessionAuthChallengeUseCredential, [NSURLCredential credentialForTrust:trust]);
    case urlsession::TrustVerdict::Reject: return completionHandler(NSURLSessionAuthChallengeCancelAuthenticationChallenge, nil);
  }
}

- (void)URLSession:(NSURLSession*)session task:(NSURLSessionTask*)task didFinishCollectingMetrics:(NSURLSessionTaskMetrics*)metrics {
  if (AppleSessionModel* m = [self enter:task]) m->OnMetrics(task.taskIdentifier, urlsession::MetricsOf(metrics));
}

- (void)URLSession:(NSURLSession*)session task:(NSURLSessionTask*)task didCompleteWithError:(NSError*)error {
  AppleSessionModel* m = [self enter:task];
  _tasks.erase(task.taskIdentifier);
  if (m == nullptr) return;
  urlsession::Completion completion;
  if (error != nil) {
    // NSURLErrorDomain codes pass through as they are; other domains have no meaning in JS.
    completion.code = [error.domain isEqualToString:NSURLErrorDomain] ? static_cast<int>(error.code) : urlsession::kNSURLErrorUnknown;
    completion.message = urlsession::ToStd(error.localizedDescription);
    id resume = error.userInfo[NSURLSessionDownloadTaskResumeData];
    if ([resume isKindOfClass:[NSData class]]) completion.resumeData = urlsession::BytesOf(resume);
  }
  completion.currentUrl = urlsession::ToStd(task.currentRequest.URL.absoluteString);
  completion.haveHead = [task.response isKindOfClass:[NSHTTPURLResponse class]];
  if (completion.haveHead) completion.head = urlsession::HeadOf(task.response);
  m->OnComplete(task.taskIdentifier, completion);
}

- (void)URLSession:(NSURLSession*)session didBecomeInvalidWithError:(NSError*)error {
  if (_model) _model->OnInvalidated();
  std::lock_guard<std::mutex> lock(urlsession::gBackgroundMutex);
  auto& sessions = urlsession::BackgroundSessions();
  for (auto it = sessions.begin(); it != sessions.end(); ++it) {
    if (it->second.session == session) {
      sessions.erase(it);  // the identifier may be created afresh now
      break;
    }
  }
}

// NSURLSession.h: sent after -application:handleEventsForBackgroundURLSession:completionHandler:,
// a UIApplicationDelegate method AppKit does not have: on macOS this is expected never to fire
// (README, macOS); translated in case it does.
- (void)URLSessionDidFinishEventsForBackgroundURLSession:(NSURLSession*)session {
  if (_model) _model->OnBackgroundEventsDelivered();
}

@end

namespace urlsession {

AppleEngine::AppleEngine(const SessionConfig& config, EventSink* sink) : state_(std::make_shared<AppleSessionState>()) {
  @autoreleasepool {
    // Background sessions need a bundle identifier (a packaged app); plain `node` has none and
    // gets a default configuration with urlsession's own journal instead ('emulated').
    state_->system = config.persistent && [[NSBundle mainBundle] bundleIdentifier] != nil;
    AppleConfigurationPlan plan = PlanConfiguration(config, state_->system);
    state_->model = std::make_shared<AppleSessionModel>(config, state_->system, ToStd(NSTemporaryDirectory()), sink);
    std::unique_lock<std::mutex> lock(gBackgroundMutex, std::defer_lock);
    if (state_->system) {
      lock.lock();
      auto found = BackgroundSessions().find(config.identifier);
      if (found != BackgroundSessions().end()) state_->objects = found->second;
    }
    if (state_->objects.session == nil) {
      SessionObjects& o = state_->objects;
      o.queue = [[NSOperationQueue alloc] init];
      o.queue.maxConcurrentOperationCount = 1;
      o.queue.name = @"urlsession delegate queue";
      o.delegate = [[URLSessionEngineDelegate alloc] init];
      o.delegate.anchors = CertificatesFromPem(config.tls.caPem);
      [o.delegate attach:state_->model proxy:plan.proxy];
      o.session = [NSURLSession sessionWithConfiguration:MakeConfiguration(config, plan) delegate:o.delegate delegateQueue:o.queue];
      if (state_->system) BackgroundSessions()[config.identifier] = o;
    } else {
      // The identifier's session lives on from an earlier environment: point it at this one.
      auto model = state_->model;
      URLSessionEngineDelegate* delegate = state_->objects.delegate;
      NSArray* anchors = CertificatesFromPem(config.tls.caPem);
      [state_->objects.queue addOperationWithBlock:^{
        delegate.anchors = anchors;
        [delegate attach:model proxy:plan.proxy];
      }];
    }
    if (state_->system) {
      // A relaunched process: adopt the tasks nsurlsessiond kept (their callbacks may come first).
      auto state = state_;
      [state->objects.session getAllTasksWithCompletionHandler:^(NSArray<__kindof NSURLSessionTask*>* tasks) {
        [state->objects.queue addOperationWithBlock:^{
          if ([state->objects.delegate model] != state->model) return;  // a newer environment took over
          for (NSURLSessionTask* task in tasks) [state->objects.delegate enter:task];
        }];
      }];
    }
  }
}

AppleEngine::~AppleEngine() { Shutdown(); }

bool AppleEngine::UsesSystemBackground() const { return state_->system; }

// Runs `work` on the delegate queue with the model and delegate, if this engine's model is the
// one attached (a background session may have moved on to a newer environment). JS thread.
static void OnQueue(const std::shared_ptr<AppleSessionState>& state, void (^work)(AppleSessionModel*, URLSessionEngineDelegate*)) {
  @autoreleasepool {  // the JS thread has no pool of its own
    [state->objects.queue addOperationWithBlock:^{
      if ([state->objects.delegate model] == state->model) work(state->model.get(), state->objects.delegate);
    }];
  }
}

void AppleEngine::StartTask(TaskRequest request) {
  auto state = state_;
  auto shared = std::make_shared<TaskRequest>(std::move(request));
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate* delegate) {
    StartPlan plan = m->PlanStart(std::move(*shared));
    if (!plan.create) return;
    NSURL* url = [NSURL URLWithString:ToNS(plan.url)];
    if (url == nil) return m->TaskCreationFailed(plan.taskIdentifier, kNSURLErrorBadURL);
    NSMutableURLRequest* http = [NSMutableURLRequest requestWithURL:url];
    http.HTTPMethod = ToNS(plan.method);
    if (plan.timeout > 0) http.timeoutInterval = plan.timeout;
    // addValue: keeps repeated names (joined with ", " as HTTP allows).
    for (const auto& header : plan.headers) [http addValue:ToNS(header.second) forHTTPHeaderField:ToNS(header.first)];
    NSURLSession* session = state->objects.session;
    NSURLSessionTask* task = nil;
    @try {
      switch (plan.type) {
        case NsTaskType::Data: task = [session dataTaskWithRequest:http]; break;
        case NsTaskType::Download: task = [session downloadTaskWithRequest:http]; break;
        case NsTaskType::DownloadWithResumeData:
          task = [session downloadTaskWithResumeData:[NSData dataWithBytes:plan.resumeData.data() length:plan.resumeData.size()]];
          break;
        case NsTaskType::UploadFromFile: task = [session uploadTaskWithRequest:http fromFile:[NSURL fileURLWithPath:ToNS(plan.uploadFile)]]; break;
        case NsTaskType::UploadFromData: task = [session uploadTaskWithRequest:http fromData:[NSData dataWithBytes:plan.uploadBytes.data() length:plan.uploadBytes.size()]]; break;
      }
    } @catch (NSException* exception) {
      // Foundation rejects some requests by raising (a background session given a request it
      // cannot take, for one): a failed task, never a crashed process.
      task = nil;
    }
    if (task == nil) return m->TaskCreationFailed(plan.taskIdentifier, kNSURLErrorUnknown);
    task.taskDescription = ToNS(plan.tag);
    [delegate track:task];
    m->TaskCreated(plan.taskIdentifier, task.taskIdentifier);
    [task resume];
  });
}

void AppleEngine::CancelTask(uint64_t taskIdentifier) {
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate* d) { [d perform:m->Cancel(taskIdentifier)]; });
}

void AppleEngine::SuspendTask(uint64_t taskIdentifier) {
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate* d) { [d perform:m->Suspend(taskIdentifier)]; });
}

void AppleEngine::ResumeTask(uint64_t taskIdentifier) {
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate* d) { [d perform:m->Resume(taskIdentifier)]; });
}

void AppleEngine::AcknowledgeBody(uint64_t taskIdentifier, int64_t bytes) {
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate* d) { [d perform:m->Acknowledge(taskIdentifier, bytes)]; });
}

// On the delegate queue, so that tasks whose StartTask block is still queued are created first
// (creating one on an invalidated session raises an exception).
void AppleEngine::FinishTasksAndInvalidate() {
  auto state = state_;
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate*) {
    if (m->FinishTasksAndInvalidate()) [state->objects.session finishTasksAndInvalidate];
  });
}

void AppleEngine::InvalidateAndCancel() {
  auto state = state_;
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate*) {
    if (m->InvalidateAndCancel()) [state->objects.session invalidateAndCancel];
  });
}

// NSURLSession.h: reset/flush invoke their handler on the delegate queue, where the model lives.
void AppleEngine::Reset(uint64_t token) {
  auto state = state_;
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate*) {
    if (m->Reset(token)) [state->objects.session resetWithCompletionHandler:^{ state->model->OnResetDone(token); }];
  });
}

void AppleEngine::Flush(uint64_t token) {
  auto state = state_;
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate*) {
    if (m->Flush(token)) [state->objects.session flushWithCompletionHandler:^{ state->model->OnFlushDone(token); }];
  });
}

// JS thread (env cleanup, session close, destructor). Idempotent. Silences the model at once,
// then lets the delegate queue drop the tasks, waiting a bounded time: a callback stuck in a
// slow trust evaluation must not hang process exit. Default sessions are then cancelled; a
// background session is left running (see the opening comment).
void AppleEngine::Shutdown() {
  @autoreleasepool {  // the JS thread has no pool of its own
    auto state = state_;
    state->model->Close();
    dispatch_semaphore_t cleaned = dispatch_semaphore_create(0);
    __block bool cancel = false;
    [state->objects.queue addOperationWithBlock:^{
      cancel = state->model->Shutdown();
      dispatch_semaphore_signal(cleaned);
    }];
    long timedOut = dispatch_semaphore_wait(cleaned, dispatch_time(DISPATCH_TIME_NOW, 5 * static_cast<int64_t>(NSEC_PER_SEC)));
    if (timedOut == 0 ? cancel : !state->system) [state->objects.session invalidateAndCancel];
  }
}

}  // namespace urlsession
