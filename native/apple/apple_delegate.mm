// NSURLSession delegate callbacks -> AppleSessionModel; Commands -> NSURLSessionTask (see
// apple_delegate.h). Delegate queue only.
#import <Foundation/Foundation.h>
#import <Security/Security.h>

#include <string>
#include <unordered_map>

#include "apple/apple_bound_stream.h"
#include "apple/apple_delegate.h"
#include "apple/apple_foundation.h"
#include "core/error_codes.h"

using urlsession::AppleSessionModel;
using urlsession::Commands;
using urlsession::NsTaskId;

// StartPlan::cachePolicy is assigned as it is: its values are NSURLRequestCachePolicy's.
static_assert(static_cast<int>(urlsession::RequestCachePolicy::UseProtocolCachePolicy) ==
              NSURLRequestUseProtocolCachePolicy);
static_assert(static_cast<int>(urlsession::RequestCachePolicy::ReloadIgnoringLocalCacheData) ==
              NSURLRequestReloadIgnoringLocalCacheData);
static_assert(static_cast<int>(urlsession::RequestCachePolicy::ReturnCacheDataElseLoad) ==
              NSURLRequestReturnCacheDataElseLoad);
static_assert(static_cast<int>(urlsession::RequestCachePolicy::ReturnCacheDataDontLoad) ==
              NSURLRequestReturnCacheDataDontLoad);
static_assert(static_cast<int>(urlsession::RequestCachePolicy::ReloadRevalidatingCacheData) ==
              NSURLRequestReloadRevalidatingCacheData);

@implementation URLSessionEngineDelegate {
  std::shared_ptr<AppleSessionModel> _model;
  urlsession::AppleProxy _proxy;
  std::unordered_map<NsTaskId, NSURLSessionTask*> _tasks;  // the objects Commands act on
  URLSessionBodyWriter* _bodies;                           // streamed uploads' output ends
}

- (void)attach:(std::shared_ptr<AppleSessionModel>)model proxy:(urlsession::AppleProxy)proxy {
  _model = std::move(model);
  _proxy = std::move(proxy);
}

- (std::shared_ptr<AppleSessionModel>)model {
  return _model;
}

- (void)track:(NSURLSessionTask*)task {
  _tasks[task.taskIdentifier] = task;
}

// The NSURLSessionTask a plan describes, not yet resumed; nil when Foundation refuses it
// (`*code` says why).
- (NSURLSessionTask*)makeTask:(const urlsession::StartPlan&)plan session:(NSURLSession*)session code:(int*)code {
  NSURL* url = [NSURL URLWithString:urlsession::ToNS(plan.url)];
  *code = urlsession::kNSURLErrorBadURL;
  if (url == nil) return nil;
  *code = urlsession::kNSURLErrorUnknown;
  NSMutableURLRequest* http = [NSMutableURLRequest requestWithURL:url];
  http.HTTPMethod = urlsession::ToNS(plan.method);
  if (plan.timeout > 0) http.timeoutInterval = plan.timeout;
  http.HTTPShouldHandleCookies = plan.handleCookies;
  if (plan.cachePolicy != urlsession::RequestCachePolicy::Session)
    http.cachePolicy = static_cast<NSURLRequestCachePolicy>(plan.cachePolicy);
  // addValue: keeps repeated names (joined with ", " as HTTP allows).
  for (const auto& header : plan.headers)
    [http addValue:urlsession::ToNS(header.second) forHTTPHeaderField:urlsession::ToNS(header.first)];
  NSURLSessionTask* task = nil;
  @try {
    switch (plan.type) {
      case urlsession::NsTaskType::Data: task = [session dataTaskWithRequest:http]; break;
      case urlsession::NsTaskType::Download: task = [session downloadTaskWithRequest:http]; break;
      case urlsession::NsTaskType::DownloadWithResumeData:
        task = [session downloadTaskWithResumeData:[NSData dataWithBytes:plan.resumeData.data()
                                                                  length:plan.resumeData.size()]];
        break;
      case urlsession::NsTaskType::UploadFromFile:
        task = [session uploadTaskWithRequest:http fromFile:[NSURL fileURLWithPath:urlsession::ToNS(plan.uploadFile)]];
        break;
      case urlsession::NsTaskType::UploadStreamed:
        // NSURLSession.h: the request's own body stream is ignored; needNewBodyStream asks for it.
        task = [session uploadTaskWithStreamedRequest:http];
        break;
      case urlsession::NsTaskType::UploadFromData:
        task = [session uploadTaskWithRequest:http
                                     fromData:[NSData dataWithBytes:plan.uploadBytes.data()
                                                             length:plan.uploadBytes.size()]];
        break;
    }
  } @catch (NSException* exception) {
    // Foundation rejects some requests by raising (a background session given a request it
    // cannot take, for one): a failed task, never a crashed process.
    task = nil;
  }
  if (task == nil) return nil;
  if (!plan.tag.empty()) task.taskDescription = urlsession::ToNS(plan.tag);
  task.priority = plan.priority;  // a hint NSURLSession may ignore for a protocol (NSURLSession.h)
  return task;
}

- (void)start:(const urlsession::StartPlan&)plan session:(NSURLSession*)session {
  AppleSessionModel* m = _model.get();
  int code = 0;
  NSURLSessionTask* task = [self makeTask:plan session:session code:&code];
  if (task == nil) return m->TaskCreationFailed(plan.taskIdentifier, code);
  [self track:task];
  m->TaskCreated(plan.taskIdentifier, task.taskIdentifier);
  if (!plan.startSuspended) [task resume];
}

// Segmented downloads: the Range data tasks the model planned and the commands it queued, until
// none is left (creating or failing one may queue more), then the progress timer it may want.
- (void)settle:(NSURLSession*)session {
  if (_model) {
    AppleSessionModel* m = _model.get();
    for (urlsession::SegmentWork work = m->TakeSegmentWork(); !work.empty(); work = m->TakeSegmentWork()) {
      for (const urlsession::StartPlan& plan : work.starts) {
        int code = 0;
        NSURLSessionTask* task = [self makeTask:plan session:session code:&code];
        if (task == nil) {
          m->SegmentTaskCreationFailed(plan.taskIdentifier, plan.segmentRequest);
          continue;
        }
        [self track:task];
        // Created suspended (NSURLSession.h: "NSURLSessionTask objects are always created in a
        // suspended state"): a task no longer wanted is cancelled before it ever ran.
        if (!m->SegmentTaskCreated(plan.taskIdentifier, plan.segmentRequest, task.taskIdentifier))
          [task cancel];
        else if (!plan.startSuspended)
          [task resume];
      }
      [self perform:work.commands];
    }
  }
  [self armProgressTimer];
}

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
          // Not expected (the model asks this of download tasks only): cancel, and tell the
          // model there is no resume data, so that the completion it holds back goes out.
          [task cancel];
          _model->OnResumeDataProduced(command.task, std::string());
          break;
        }
        // The handler's queue is unspecified: hop back onto the delegate queue (this one).
        std::shared_ptr<AppleSessionModel> model = _model;
        NSOperationQueue* queue = [NSOperationQueue currentQueue];
        NsTaskId id = command.task;
        [(NSURLSessionDownloadTask*)task cancelByProducingResumeData:^(NSData* resumeData) {
          [queue addOperationWithBlock:^{ model->OnResumeDataProduced(id, urlsession::BytesOf(resumeData)); }];
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
                                          urlsession::ToStd(task.originalRequest.HTTPMethod),
                                          task.state == NSURLSessionTaskStateSuspended)];
  }
  return _model.get();
}

// The timer the model asks for when it held a progress total back or suspended a task ahead of
// its speed limit (TakeProgressTimer): on a global queue for the delay, then back onto this
// delegate queue, for the model still attached.
- (void)armProgressTimer {
  int64_t delayMs = 0;
  if (!_model || !_model->TakeProgressTimer(&delayMs)) return;
  std::weak_ptr<AppleSessionModel> weakModel = _model;
  __weak URLSessionEngineDelegate* weakSelf = self;
  NSOperationQueue* queue = [NSOperationQueue currentQueue];
  dispatch_after(dispatch_time(DISPATCH_TIME_NOW, delayMs * static_cast<int64_t>(NSEC_PER_MSEC)),
                 dispatch_get_global_queue(QOS_CLASS_UTILITY, 0), ^{
                   [queue addOperationWithBlock:^{
                     URLSessionEngineDelegate* strongSelf = weakSelf;
                     std::shared_ptr<AppleSessionModel> model = weakModel.lock();
                     if (strongSelf == nil || !model || [strongSelf model] != model) return;
                     [strongSelf perform:model->OnProgressTimer()];
                     [strongSelf armProgressTimer];
                   }];
                 });
}

- (void)URLSession:(NSURLSession*)session
              dataTask:(NSURLSessionDataTask*)dataTask
    didReceiveResponse:(NSURLResponse*)response
     completionHandler:(void (^)(NSURLSessionResponseDisposition))completionHandler {
  AppleSessionModel* m = [self enter:dataTask];
  bool allow = m != nullptr && m->OnResponse(dataTask.taskIdentifier, urlsession::HeadOf(response));
  completionHandler(allow ? NSURLSessionResponseAllow : NSURLSessionResponseCancel);
  [self settle:session];  // a first response may plan Range tasks
}

- (void)URLSession:(NSURLSession*)session dataTask:(NSURLSessionDataTask*)dataTask didReceiveData:(NSData*)data {
  AppleSessionModel* m = [self enter:dataTask];
  if (m == nullptr) return;
  [data enumerateByteRangesUsingBlock:^(const void* bytes, NSRange range, BOOL* stop) {
    [self perform:m->OnData(dataTask.taskIdentifier, static_cast<const char*>(bytes), range.length)];
  }];
  [self settle:session];
}

- (void)URLSession:(NSURLSession*)session
                        task:(NSURLSessionTask*)task
             didSendBodyData:(int64_t)bytesSent
              totalBytesSent:(int64_t)totalBytesSent
    totalBytesExpectedToSend:(int64_t)totalBytesExpectedToSend {
  if (AppleSessionModel* m = [self enter:task])
    [self perform:m->OnBodySent(task.taskIdentifier, totalBytesSent, totalBytesExpectedToSend)];
  [self armProgressTimer];
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
  [self perform:m->OnDownloadProgress(downloadTask.taskIdentifier, totalBytesWritten, totalBytesExpectedToWrite,
                                      wantHead ? &head : nullptr)];
  [self armProgressTimer];
}

// NSURLSession.h: the file at `location` is removed when this method returns; the model moves
// it into place synchronously.
- (void)URLSession:(NSURLSession*)session
                 downloadTask:(NSURLSessionDownloadTask*)downloadTask
    didFinishDownloadingToURL:(NSURL*)location {
  if (AppleSessionModel* m = [self enter:downloadTask]) {
    m->OnFinishedDownload(downloadTask.taskIdentifier, urlsession::ToStd(location.path),
                          urlsession::HeadOf(downloadTask.response));
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
  bool follow = m != nullptr && m->OnRedirect(task.taskIdentifier, static_cast<int>(response.statusCode),
                                              urlsession::ToStd(task.currentRequest.URL.absoluteString),
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
  if (m != nullptr && space.isProxy &&
      urlsession::AnswersProxyChallenge(_proxy, static_cast<long>(challenge.previousFailureCount))) {
    NSURLCredential* credential = [NSURLCredential credentialWithUser:urlsession::ToNS(_proxy.user)
                                                             password:urlsession::ToNS(_proxy.password)
                                                          persistence:NSURLCredentialPersistenceForSession];
    return completionHandler(NSURLSessionAuthChallengeUseCredential, credential);
  }
  bool serverTrust = [space.authenticationMethod isEqualToString:NSURLAuthenticationMethodServerTrust];
  if (m != nullptr && !space.isProxy && !serverTrust && m->RefusesServerCredentials(task.taskIdentifier)) {
    return completionHandler(NSURLSessionAuthChallengeRejectProtectionSpace, nil);
  }
  SecTrustRef trust = space.serverTrust;
  if (m == nullptr || !serverTrust || trust == nullptr || !m->ChecksServerTrust()) {
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
    case urlsession::TrustVerdict::DefaultHandling:
      return completionHandler(NSURLSessionAuthChallengePerformDefaultHandling, nil);
    case urlsession::TrustVerdict::UseCredential:
      return completionHandler(NSURLSessionAuthChallengeUseCredential, [NSURLCredential credentialForTrust:trust]);
    case urlsession::TrustVerdict::Reject:
      return completionHandler(NSURLSessionAuthChallengeCancelAuthenticationChallenge, nil);
  }
}

- (void)URLSession:(NSURLSession*)session
                          task:(NSURLSessionTask*)task
    didFinishCollectingMetrics:(NSURLSessionTaskMetrics*)metrics {
  if (AppleSessionModel* m = [self enter:task]) m->OnMetrics(task.taskIdentifier, urlsession::MetricsOf(metrics));
}

- (void)URLSession:(NSURLSession*)session task:(NSURLSessionTask*)task didCompleteWithError:(NSError*)error {
  AppleSessionModel* m = [self enter:task];
  _tasks.erase(task.taskIdentifier);
  [_bodies closeFor:task.taskIdentifier];
  if (m == nullptr) return;
  urlsession::Completion completion;
  if (error != nil) {
    // NSURLErrorDomain codes pass through as they are; other domains have no meaning in JS.
    completion.code =
        [error.domain isEqualToString:NSURLErrorDomain] ? static_cast<int>(error.code) : urlsession::kNSURLErrorUnknown;
    completion.message = urlsession::ToStd(error.localizedDescription);
    id resume = error.userInfo[NSURLSessionDownloadTaskResumeData];
    if ([resume isKindOfClass:[NSData class]]) completion.resumeData = urlsession::BytesOf(resume);
  }
  completion.currentUrl = urlsession::ToStd(task.currentRequest.URL.absoluteString);
  completion.haveHead = [task.response isKindOfClass:[NSHTTPURLResponse class]];
  if (completion.haveHead) completion.head = urlsession::HeadOf(task.response);
  // A download whose resume the server refused goes again from zero as a new task.
  urlsession::StartPlan restart = m->OnComplete(task.taskIdentifier, completion);
  if (restart.create) [self start:restart session:session];
  [self settle:session];  // the others' speed shares grew: a task held back may go on sooner
}

// NSURLSession.h: asked when a streamed upload starts, and again when its body must be sent again
// (a redirect that keeps it, an authentication retry): the model answers the first only.
- (void)URLSession:(NSURLSession*)session
                 task:(NSURLSessionTask*)task
    needNewBodyStream:(void (^)(NSInputStream* _Nullable))completionHandler {
  AppleSessionModel* m = [self enter:task];
  Commands commands;
  if (m == nullptr || !m->OnNeedNewBodyStream(task.taskIdentifier, &commands)) {
    [self perform:commands];  // a repeated ask: the cancel that fails the task with -1021
    return completionHandler(nil);
  }
  if (_bodies == nil) {
    _bodies = [[URLSessionBodyWriter alloc] init];
    _bodies.owner = self;
  }
  completionHandler([_bodies openFor:task.taskIdentifier]);
}

- (void)writeBodyOf:(NsTaskId)task {
  if (task != 0) [_bodies writeFor:task];
}

- (void)URLSession:(NSURLSession*)session didBecomeInvalidWithError:(NSError*)error {
  if (_model) _model->OnInvalidated();
  if (self.invalidated) self.invalidated(session);
}

// NSURLSession.h: sent after -application:handleEventsForBackgroundURLSession:completionHandler:,
// a UIApplicationDelegate method AppKit does not have: on macOS this is expected never to fire
// (README, macOS); translated in case it does.
- (void)URLSessionDidFinishEventsForBackgroundURLSession:(NSURLSession*)session {
  if (_model) _model->OnBackgroundEventsDelivered();
}

@end
