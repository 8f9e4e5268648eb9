// NSURLSession adapter (Objective-C++, ARC). It only translates between NSURLSession's
// delegate callbacks and the portable core: DownloadWriter (files, resume, integrity, error
// pages), ProgressThrottle, the NSURLError vocabulary and the Event structs.
//
// Threading: every callback and every piece of per-task state lives on one private serial
// NSOperationQueue (never the main queue: plain Node does not pump the main run loop).
// Engine methods, called on the JS thread, only enqueue blocks onto that queue, so no
// per-task state is ever touched by two threads. The one lock guards posting against Shutdown.
//
// Downloads: in a default session a download runs as a data task whose bytes go through
// DownloadWriter, exactly as in the curl engine (Range/If-Range resume from a portable partial
// file, integrity while streaming, error pages kept out of the destination). Background
// sessions must use download tasks (nsurlsessiond writes the file): didFinishDownloadingToURL:
// moves the finished file into place with DownloadWriter::AdoptFinishedFile, synchronously.

#import <CFNetwork/CFNetwork.h>
#import <Foundation/Foundation.h>
#import <Security/Security.h>
#include <CommonCrypto/CommonDigest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

#include "apple/apple_engine.h"
#include "core/download_writer.h"
#include "core/error_codes.h"
#include "core/file_ops.h"
#include "core/progress_throttle.h"

namespace urlsession {

// One task, owned by AppleSessionState::tasks; delegate queue only.
struct AppleTask {
  explicit AppleTask(TaskRequest r, uint32_t progressIntervalMs)
      : request(std::move(r)), downloadThrottle(progressIntervalMs), uploadThrottle(progressIntervalMs) {}
  TaskRequest request;
  NSURLSessionTask* task = nil;
  std::unique_ptr<DownloadWriter> writer;  // downloads run as data tasks, except in background sessions
  std::string body;                        // response body of data and upload tasks
  HeaderList headers;
  std::string responseUrl;
  std::string location;                    // background download already moved into place
  std::string temporaryBody;               // memory body written to a file for a background upload
  int status = 0;
  int overrideCode = 0;                    // our verdict (redirect policy, trust, disk) beats NSURLSession's cancel
  int redirects = 0;
  int64_t received = 0;
  int64_t expected = 0;
  int64_t uploaded = 0;                    // request body bytes sent so far
  int64_t uploadExpected = 0;
  bool responsePosted = false;             // the Response event goes out once per task
  int64_t unacknowledged = 0;
  bool userSuspended = false;
  bool backpressure = false;
  TaskMetrics metrics;
  ProgressThrottle downloadThrottle;
  ProgressThrottle uploadThrottle;
};

struct AppleSessionState {
  SessionConfig config;
  EventSink* sink = nullptr;
  bool system = false;   // a background configuration: nsurlsessiond owns the transfers
  std::mutex postMutex;              // held while posting and while Shutdown sets `closed`
  std::atomic<bool> closed{false};   // Shutdown ran: nothing is posted any more
  bool invalidated = false;         // delegate queue only: finishTasksAndInvalidate/invalidateAndCancel ran
  NSOperationQueue* queue = nil;
  NSURLSession* session = nil;
  NSArray* anchors = nil;  // tls.caPem as SecCertificateRefs
  std::unordered_map<NSUInteger, std::unique_ptr<AppleTask>> tasks;  // by NSURLSessionTask.taskIdentifier
  std::unordered_map<uint64_t, NSUInteger> byId;                     // our id -> NSURLSessionTask id
  // Our id -> NSURLSessionDownloadTaskResumeData of a failed background download. Kept for the
  // resume features (TODO: hand it to downloadTaskWithResumeData: when JS resumes that task);
  // downloads of default sessions resume from their portable partial file instead.
  NSMutableDictionary<NSNumber*, NSData*>* resumeData = [[NSMutableDictionary alloc] init];

  // Delegate queue (every caller runs there). The mutex makes Shutdown's promise hold: once it
  // set `closed` the sink is never called again, even by a callback running at that moment.
  void Post(Event event) {
    std::lock_guard<std::mutex> lock(postMutex);
    if (!closed) sink->Post(std::move(event));
  }
  AppleTask* Find(NSURLSessionTask* task) {
    auto found = tasks.find(task.taskIdentifier);
    return found == tasks.end() ? nullptr : found->second.get();
  }
  AppleTask* FindById(uint64_t id) {
    auto found = byId.find(id);
    if (found == byId.end()) return nullptr;
    auto task = tasks.find(found->second);
    return task == tasks.end() ? nullptr : task->second.get();
  }
};

namespace {

NSString* ToNS(const std::string& text) { return [[NSString alloc] initWithBytes:text.data() length:text.size() encoding:NSUTF8StringEncoding] ?: @""; }
std::string ToStd(NSString* text) { return text == nil ? std::string() : std::string(text.UTF8String ?: ""); }

HeaderList HeadersOf(NSURLResponse* response) {
  HeaderList headers;
  if (![response isKindOfClass:[NSHTTPURLResponse class]]) return headers;
  NSDictionary* fields = ((NSHTTPURLResponse*)response).allHeaderFields;
  for (NSString* name in fields) {
    id value = fields[name];
    if ([value isKindOfClass:[NSString class]]) headers.emplace_back(ToStd(name), ToStd((NSString*)value));
  }
  return headers;
}

int StatusOf(NSURLResponse* response) {
  return [response isKindOfClass:[NSHTTPURLResponse class]] ? static_cast<int>(((NSHTTPURLResponse*)response).statusCode) : 0;
}

// taskDescription carries our identity so that tasks found again after a relaunch
// (getAllTasksWithCompletionHandler:) keep their identifier, kind and destination. JSON with a
// "urlsession" key rather than a bare "urlsession:<id>": the destination must survive too.
// (The integrity expectation does not: a recovered download is not verified.)
NSString* DescribeTask(const TaskRequest& request, const std::string& userDescription) {
  NSDictionary* tag = @{
    @"urlsession" : @1,
    @"id" : @(request.taskIdentifier),
    @"kind" : @(static_cast<int>(request.kind)),
    @"dir" : ToNS(request.downloadDirectory),
    @"name" : ToNS(request.downloadFileName),
    @"fromResponse" : @(request.nameFromResponse),
    @"overwrite" : @(request.overwrite),
    @"discardOnHttpError" : @(request.discardOnHttpError),
    @"description" : ToNS(userDescription),
  };
  NSData* json = [NSJSONSerialization dataWithJSONObject:tag options:0 error:nil];
  return json == nil ? @"" : [[NSString alloc] initWithData:json encoding:NSUTF8StringEncoding];
}

// PEM text -> SecCertificateRefs for SecTrustSetAnchorCertificates.
NSArray* CertificatesFromPem(const std::string& pem) {
  NSMutableArray* certificates = [NSMutableArray array];
  const std::string begin = "-----BEGIN CERTIFICATE-----";
  const std::string end = "-----END CERTIFICATE-----";
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

// DER: a tag and its definite length, then the contents.
void AppendDer(std::string* out, unsigned char tag, const std::string& contents) {
  out->push_back(static_cast<char>(tag));
  size_t length = contents.size();
  if (length < 0x80) {
    out->push_back(static_cast<char>(length));
  } else {
    std::string bytes;
    for (; length > 0; length >>= 8) bytes.insert(bytes.begin(), static_cast<char>(length & 0xff));
    out->push_back(static_cast<char>(0x80 | bytes.size()));
    out->append(bytes);
  }
  out->append(contents);
}

// SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier, BIT STRING key }, built around the
// raw key SecKeyCopyExternalRepresentation gives (PKCS#1 RSAPublicKey for RSA, the uncompressed
// point 04|X|Y for EC). Any RSA size; EC on P-256, P-384 and P-521. "" for other keys.
std::string SubjectPublicKeyInfo(bool rsa, bool ec, long bits, const std::string& rawKey) {
  // AlgorithmIdentifier contents: rsaEncryption + NULL, or id-ecPublicKey + the curve's OID.
  static const char kRsa[] = "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00";
  static const char kEcP256[] = "\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07";
  static const char kEcP384[] = "\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b\x81\x04\x00\x22";
  static const char kEcP521[] = "\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b\x81\x04\x00\x23";
  std::string algorithm;
  if (rsa) algorithm.assign(kRsa, sizeof(kRsa) - 1);
  else if (ec && bits == 256) algorithm.assign(kEcP256, sizeof(kEcP256) - 1);
  else if (ec && bits == 384) algorithm.assign(kEcP384, sizeof(kEcP384) - 1);
  else if (ec && bits == 521) algorithm.assign(kEcP521, sizeof(kEcP521) - 1);
  else return std::string();
  std::string algorithmIdentifier, bitString, body, spki;
  AppendDer(&algorithmIdentifier, 0x30, algorithm);
  AppendDer(&bitString, 0x03, std::string(1, '\0') + rawKey);  // no unused bits
  body = algorithmIdentifier + bitString;
  AppendDer(&spki, 0x30, body);
  return spki;
}

// sha256 of the leaf's SubjectPublicKeyInfo, base64: the value curl's CURLOPT_PINNEDPUBLICKEY
// and `openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256` pin.
// Delegate queue, after the trust was evaluated.
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
  bool rsa = [type isEqual:(__bridge id)kSecAttrKeyTypeRSA];
  bool ec = [type isEqual:(__bridge id)kSecAttrKeyTypeECSECPrimeRandom];
  long bits = [attributes[(__bridge id)kSecAttrKeySizeInBits] longValue];
  std::string spki = SubjectPublicKeyInfo(rsa, ec, bits, std::string(static_cast<const char*>(raw.bytes), raw.length));
  if (spki.empty()) return std::string();  // a key type we cannot pin: the pin check fails closed
  unsigned char digest[CC_SHA256_DIGEST_LENGTH];
  CC_SHA256(spki.data(), static_cast<CC_LONG>(spki.size()), digest);
  return ToStd([[NSData dataWithBytes:digest length:sizeof(digest)] base64EncodedStringWithOptions:0]);
}

// The NSURLError code for a server trust our own evaluation refused, as NSURLSession's default
// handling would report it: the tests expect -1201 for an expired certificate even when
// tls.caPem is set, and -1202 for an unknown root or a wrong host name.
int TrustFailureCode(CFErrorRef error) {
  switch (error == nullptr ? 0 : CFErrorGetCode(error)) {
    case errSecCertificateExpired:
      return kNSURLErrorServerCertificateHasBadDate;
    case errSecCertificateNotValidYet:
      return kNSURLErrorServerCertificateNotYetValid;
    default:
      return kNSURLErrorServerCertificateUntrusted;
  }
}

double Millis(NSDate* from, NSDate* to) {
  return (from == nil || to == nil) ? -1 : [to timeIntervalSinceDate:from] * 1000.0;
}

// The helpers below run on the delegate queue.

// Download progress, throttled; `final` always reports a changed total (before completion).
// The total counts an error page being captured too, as the curl engine does.
void PostProgress(AppleSessionState& state, AppleTask& t, bool final) {
  if (t.request.kind != TaskKind::Download) return;
  int64_t total = t.writer ? t.writer->BytesOnDisk() + (t.writer->CapturingErrorBody() ? t.received : 0) : t.received;
  if (!t.downloadThrottle.ShouldReport(total, final)) return;
  Event event;
  event.type = EventType::DownloadProgress;
  event.taskIdentifier = t.request.taskIdentifier;
  event.totalBytes = total;
  event.expectedBytes = t.expected;
  state.Post(std::move(event));
}

void PostUploadProgress(AppleSessionState& state, AppleTask& t, bool final) {
  if (t.request.bodySource == BodySource::None || !t.uploadThrottle.ShouldReport(t.uploaded, final)) return;
  Event event;
  event.type = EventType::UploadProgress;
  event.taskIdentifier = t.request.taskIdentifier;
  event.totalBytes = t.uploaded;
  event.expectedBytes = t.uploadExpected;
  state.Post(std::move(event));
}

// Records the final response head and posts the Response event, once per task. Data and upload
// tasks get it from didReceiveResponse:; download tasks (background sessions) have no such
// callback, so they post it at their first didWriteData: or at the latest when they finish.
void NoteResponse(AppleSessionState& state, AppleTask& t, NSURLResponse* response) {
  if (t.responsePosted || response == nil) return;
  t.responsePosted = true;
  t.status = StatusOf(response);
  t.headers = HeadersOf(response);
  t.responseUrl = ToStd(response.URL.absoluteString);
  Event event;
  event.type = EventType::Response;
  event.taskIdentifier = t.request.taskIdentifier;
  event.statusCode = t.status;
  event.expectedBytes = t.expected;
  event.responseHeaders = t.headers;
  event.url = t.responseUrl;
  state.Post(std::move(event));
}

// The task's state; in a background session a task of an earlier process that nsurlsessiond
// kept is adopted on first sight (from its taskDescription) and announced as TaskRecovered.
// Its callbacks may arrive before getAllTasksWithCompletionHandler: answers, and a finished
// download's file is deleted when didFinishDownloadingToURL: returns, so every callback adopts.
AppleTask* FindOrAdopt(AppleSessionState& state, NSURLSessionTask* task) {
  if (AppleTask* t = state.Find(task)) return t;
  if (!state.system || state.closed) return nullptr;
  NSData* json = [task.taskDescription dataUsingEncoding:NSUTF8StringEncoding];
  NSDictionary* tag = json == nil ? nil : [NSJSONSerialization JSONObjectWithData:json options:0 error:nil];
  if (![tag isKindOfClass:[NSDictionary class]] || tag[@"urlsession"] == nil) return nullptr;  // not ours
  TaskRequest request;
  request.taskIdentifier = [tag[@"id"] unsignedLongLongValue];
  request.kind = static_cast<TaskKind>([tag[@"kind"] intValue]);
  request.url = ToStd(task.originalRequest.URL.absoluteString);
  request.method = ToStd(task.originalRequest.HTTPMethod);
  request.downloadDirectory = ToStd(tag[@"dir"]);
  request.downloadFileName = ToStd(tag[@"name"]);
  request.nameFromResponse = [tag[@"fromResponse"] boolValue];
  request.overwrite = [tag[@"overwrite"] boolValue];
  request.discardOnHttpError = [tag[@"discardOnHttpError"] boolValue];
  auto owned = std::make_unique<AppleTask>(request, state.config.progressIntervalMs);
  AppleTask* t = owned.get();
  t->task = task;
  state.byId[request.taskIdentifier] = task.taskIdentifier;
  state.tasks[task.taskIdentifier] = std::move(owned);
  Event event;
  event.type = EventType::TaskRecovered;
  event.taskIdentifier = request.taskIdentifier;
  event.url = request.url;
  event.statusCode = static_cast<int>(request.kind);
  event.message = ToStd(tag[@"description"]);
  state.Post(std::move(event));
  return t;
}

}  // namespace

}  // namespace urlsession

using urlsession::AppleSessionState;
using urlsession::AppleTask;
using urlsession::Event;
using urlsession::EventType;
using urlsession::TaskKind;

// The one delegate of a session. Every method runs on the session's serial delegate queue.
@interface URLSessionEngineDelegate : NSObject <NSURLSessionDataDelegate, NSURLSessionDownloadDelegate>
- (instancetype)initWithState:(std::shared_ptr<AppleSessionState>)state;
@end

@implementation URLSessionEngineDelegate {
  std::shared_ptr<AppleSessionState> _state;
}

- (instancetype)initWithState:(std::shared_ptr<AppleSessionState>)state {
  if ((self = [super init])) _state = std::move(state);
  return self;
}

- (void)URLSession:(NSURLSession*)session
              dataTask:(NSURLSessionDataTask*)dataTask
    didReceiveResponse:(NSURLResponse*)response
     completionHandler:(void (^)(NSURLSessionResponseDisposition))completionHandler {
  AppleTask* t = urlsession::FindOrAdopt(*_state, dataTask);
  // overrideCode: a refused redirect or a trust failure already decided how this task ends.
  if (t == nullptr || t->overrideCode != 0) return completionHandler(NSURLSessionResponseCancel);
  int64_t length = response.expectedContentLength;  // NSURLResponseUnknownLength (-1) when unknown
  t->expected = length > 0 ? length : 0;
  if (t->writer) {
    if (!t->writer->BeginResponse(urlsession::StatusOf(response), urlsession::HeadersOf(response), length)) {
      t->overrideCode = urlsession::kNSURLErrorBadServerResponse;
      return completionHandler(NSURLSessionResponseCancel);
    }
    t->expected = t->writer->ExpectedBytes();
  } else if (!t->request.streamBody && t->request.BodyExceedsLimit(0, length)) {
    // A declared length over maximumResponseSize fails before a byte is kept (as on Linux).
    t->overrideCode = urlsession::kNSURLErrorDataLengthExceedsMaximum;
    return completionHandler(NSURLSessionResponseCancel);
  }
  urlsession::NoteResponse(*_state, *t, response);
  completionHandler(NSURLSessionResponseAllow);
}

- (void)URLSession:(NSURLSession*)session dataTask:(NSURLSessionDataTask*)dataTask didReceiveData:(NSData*)data {
  AppleTask* t = urlsession::FindOrAdopt(*_state, dataTask);
  if (t == nullptr || t->overrideCode != 0) return;  // the task is being cancelled: drop the bytes
  AppleSessionState* state = _state.get();
  [data enumerateByteRangesUsingBlock:^(const void* bytes, NSRange range, BOOL* stop) {
    const char* chunk = static_cast<const char*>(bytes);
    if (t->request.streamBody) {
      Event event;
      event.type = EventType::BodyData;
      event.taskIdentifier = t->request.taskIdentifier;
      event.responseBody.assign(chunk, range.length);
      state->Post(std::move(event));
      t->unacknowledged += static_cast<int64_t>(range.length);
    } else if (t->writer) {
      if (!t->writer->Write(chunk, range.length)) {
        t->overrideCode = t->writer->WriteFailureCode();
        [dataTask cancel];
        *stop = YES;
        return;
      }
    } else if (t->request.BodyExceedsLimit(static_cast<int64_t>(t->body.size()), static_cast<int64_t>(range.length))) {
      // Bodies kept in memory are bounded (a gzip bomb inflates without limit): fail, free it.
      t->overrideCode = urlsession::kNSURLErrorDataLengthExceedsMaximum;
      std::string().swap(t->body);
      [dataTask cancel];
      *stop = YES;
      return;
    } else {
      t->body.append(chunk, range.length);
    }
    t->received += static_cast<int64_t>(range.length);
  }];
  // NSURLSession cannot refuse bytes, but a suspended task stops reading from the socket.
  if (t->request.streamBody && t->unacknowledged >= urlsession::kStreamHighWaterBytes && !t->backpressure) {
    t->backpressure = true;
    [dataTask suspend];
  }
  urlsession::PostProgress(*state, *t, false);
}

- (void)URLSession:(NSURLSession*)session
                        task:(NSURLSessionTask*)task
             didSendBodyData:(int64_t)bytesSent
              totalBytesSent:(int64_t)totalBytesSent
    totalBytesExpectedToSend:(int64_t)totalBytesExpectedToSend {
  AppleTask* t = urlsession::FindOrAdopt(*_state, task);
  if (t == nullptr) return;
  t->uploaded = totalBytesSent;
  // NSURLSessionTransferSizeUnknown (-1) when NSURLSession does not know: keep our own size.
  if (totalBytesExpectedToSend > 0) t->uploadExpected = totalBytesExpectedToSend;
  urlsession::PostUploadProgress(*_state, *t, totalBytesSent == totalBytesExpectedToSend);
}

// Background sessions only: NSURLSession writes the file itself.
- (void)URLSession:(NSURLSession*)session
                 downloadTask:(NSURLSessionDownloadTask*)downloadTask
                 didWriteData:(int64_t)bytesWritten
            totalBytesWritten:(int64_t)totalBytesWritten
    totalBytesExpectedToWrite:(int64_t)totalBytesExpectedToWrite {
  AppleTask* t = urlsession::FindOrAdopt(*_state, downloadTask);
  if (t == nullptr) return;
  t->received = totalBytesWritten;
  t->expected = totalBytesExpectedToWrite == NSURLSessionTransferSizeUnknown ? 0 : totalBytesExpectedToWrite;
  urlsession::NoteResponse(*_state, *t, downloadTask.response);
  urlsession::PostProgress(*_state, *t, false);
}

// Background sessions only. The file at `location` is deleted when this method returns: move it
// now, synchronously (DownloadWriter::AdoptFinishedFile renames it, or copies it when it lies on
// another volume), then report it. The outcome is remembered for didCompleteWithError:.
- (void)URLSession:(NSURLSession*)session downloadTask:(NSURLSessionDownloadTask*)downloadTask didFinishDownloadingToURL:(NSURL*)location {
  AppleTask* t = urlsession::FindOrAdopt(*_state, downloadTask);
  if (t == nullptr || t->overrideCode != 0) return;
  urlsession::NoteResponse(*_state, *t, downloadTask.response);
  std::string path = urlsession::ToStd(location.path);
  if (t->request.kind == TaskKind::Data) {  // data tasks run as downloads in background sessions
    NSData* body = [NSData dataWithContentsOfURL:location];
    if (body != nil) t->body.assign(static_cast<const char*>(body.bytes), body.length);
    return;
  }
  urlsession::DownloadWriter adopter(t->request);
  int code = adopter.AdoptFinishedFile(path, t->status, t->headers, t->responseUrl, &t->location);
  if (code != 0) {
    t->overrideCode = code;
  } else if (adopter.CapturingErrorBody()) {
    t->body = adopter.ErrorBody();
  } else {
    urlsession::PostProgress(*_state, *t, true);
    Event event;
    event.type = EventType::DownloadCompleted;
    event.taskIdentifier = t->request.taskIdentifier;
    event.statusCode = t->status;
    event.location = t->location;
    _state->Post(std::move(event));
  }
}

- (void)URLSession:(NSURLSession*)session
                          task:(NSURLSessionTask*)task
    willPerformHTTPRedirection:(NSHTTPURLResponse*)response
                    newRequest:(NSURLRequest*)request
             completionHandler:(void (^)(NSURLRequest* _Nullable))completionHandler {
  AppleTask* t = urlsession::FindOrAdopt(*_state, task);
  if (t == nullptr) return completionHandler(nil);
  NSString* from = task.currentRequest.URL.scheme.lowercaseString;
  NSString* to = request.URL.scheme.lowercaseString;
  int refusal = 0;
  if (![to isEqualToString:@"http"] && ![to isEqualToString:@"https"]) {
    refusal = urlsession::kNSURLErrorUnsupportedURL;
  } else if ([from isEqualToString:@"https"] && [to isEqualToString:@"http"] && !_state->config.allowsInsecureRedirects) {
    refusal = urlsession::kNSURLErrorAppTransportSecurityRequiresSecureConnection;
  } else if (++t->redirects > _state->config.maximumRedirects) {
    refusal = urlsession::kNSURLErrorHTTPTooManyRedirects;
  }
  if (refusal == 0) return completionHandler(request);
  // Refused: cancel first, then decline the redirect. Declining alone would deliver the 3xx as
  // the final response; overrideCode makes the other callbacks ignore it and decides the code
  // TaskCompleted reports instead of the cancel's -999.
  t->overrideCode = refusal;
  [task cancel];
  completionHandler(nil);
}

- (void)URLSession:(NSURLSession*)session
                   task:(NSURLSessionTask*)task
    didReceiveChallenge:(NSURLAuthenticationChallenge*)challenge
      completionHandler:(void (^)(NSURLSessionAuthChallengeDisposition, NSURLCredential* _Nullable))completionHandler {
  const urlsession::TlsOptions& tls = _state->config.tls;
  bool serverTrust = [challenge.protectionSpace.authenticationMethod isEqualToString:NSURLAuthenticationMethodServerTrust];
  if (!serverTrust || (tls.caPem.empty() && tls.pinnedSpkiSha256.empty())) {
    return completionHandler(NSURLSessionAuthChallengePerformDefaultHandling, nil);
  }
  SecTrustRef trust = challenge.protectionSpace.serverTrust;
  if (trust == nullptr) return completionHandler(NSURLSessionAuthChallengePerformDefaultHandling, nil);
  if (_state->anchors.count > 0) {
    // Extra roots on top of the system's: the keychain's trust still applies.
    SecTrustSetAnchorCertificates(trust, (__bridge CFArrayRef)_state->anchors);
    SecTrustSetAnchorCertificatesOnly(trust, false);
  }
  // Synchronous and may fetch revocation data: fine here, this is our private queue.
  CFErrorRef error = nullptr;
  bool trusted = SecTrustEvaluateWithError(trust, &error);
  int refusal = trusted ? 0 : urlsession::TrustFailureCode(error);
  if (error != nullptr) CFRelease(error);
  if (trusted && !tls.pinnedSpkiSha256.empty()) {
    std::string pin = urlsession::SpkiPinOf(trust);
    if (pin.empty() || std::find(tls.pinnedSpkiSha256.begin(), tls.pinnedSpkiSha256.end(), pin) == tls.pinnedSpkiSha256.end()) {
      refusal = urlsession::kNSURLErrorServerCertificateUntrusted;
    }
  }
  if (refusal != 0) {
    // Cancelling the challenge fails the task with -999; overrideCode reports the real reason.
    if (AppleTask* t = urlsession::FindOrAdopt(*_state, task)) t->overrideCode = refusal;
    return completionHandler(NSURLSessionAuthChallengeCancelAuthenticationChallenge, nil);
  }
  completionHandler(NSURLSessionAuthChallengeUseCredential, [NSURLCredential credentialForTrust:trust]);
}

- (void)URLSession:(NSURLSession*)session task:(NSURLSessionTask*)task didFinishCollectingMetrics:(NSURLSessionTaskMetrics*)metrics {
  AppleTask* t = urlsession::FindOrAdopt(*_state, task);
  NSURLSessionTaskTransactionMetrics* last = metrics.transactionMetrics.lastObject;
  if (t == nullptr || last == nil) return;
  urlsession::TaskMetrics& m = t->metrics;
  m.dnsMs = urlsession::Millis(last.domainLookupStartDate, last.domainLookupEndDate);
  m.connectMs = urlsession::Millis(last.connectStartDate, last.connectEndDate);
  m.tlsMs = urlsession::Millis(last.secureConnectionStartDate, last.secureConnectionEndDate);
  m.firstByteMs = urlsession::Millis(metrics.taskInterval.startDate, last.responseStartDate);
  m.totalMs = metrics.taskInterval.duration * 1000.0;
  m.redirectCount = static_cast<int>(metrics.redirectCount);
  m.protocol = urlsession::ToStd(last.networkProtocolName);
  if (last.remoteAddress != nil) {  // macOS 10.15+; IPv6 addresses get brackets, as in URLs
    NSString* format = [last.remoteAddress containsString:@":"] ? @"[%@]:%@" : @"%@:%@";
    m.remoteAddress = urlsession::ToStd([NSString stringWithFormat:format, last.remoteAddress, last.remotePort ?: @0]);
  }
  int64_t sent = 0, received = 0;
  for (NSURLSessionTaskTransactionMetrics* transaction in metrics.transactionMetrics) {
    sent += transaction.countOfRequestBodyBytesSent;
    received += transaction.countOfResponseBodyBytesAfterDecoding;
  }
  m.bytesSent = sent;
  m.bytesReceived = received;
}

// The last callback of every task (after its metrics): DownloadCompleted (default sessions),
// then TaskCompleted; the task's state is dropped here.
- (void)URLSession:(NSURLSession*)session task:(NSURLSessionTask*)task didCompleteWithError:(NSError*)error {
  AppleTask* t = urlsession::FindOrAdopt(*_state, task);
  if (t == nullptr) return;
  int code = t->overrideCode;
  std::string message;
  if (code == 0 && error != nil) {
    // NSURLErrorDomain codes pass through as they are; other domains have no meaning in JS.
    code = [error.domain isEqualToString:NSURLErrorDomain] ? static_cast<int>(error.code) : urlsession::kNSURLErrorUnknown;
    message = urlsession::ToStd(error.localizedDescription);
  }
  if (t->overrideCode == 0) urlsession::NoteResponse(*_state, *t, task.response);  // download tasks that failed early
  if (t->status == 0) t->status = urlsession::StatusOf(task.response);
  if (code == 0) {
    // Whatever the throttle held back: the final totals go out before the completion (as in
    // the curl engine: on success, and for downloads only when bytes arrived).
    urlsession::PostUploadProgress(*_state, *t, true);
    if (t->received > 0 || t->request.kind != TaskKind::Download) urlsession::PostProgress(*_state, *t, true);
  }

  Event done;
  done.type = EventType::TaskCompleted;
  done.taskIdentifier = t->request.taskIdentifier;
  done.statusCode = t->status;
  done.url = t->responseUrl.empty() ? urlsession::ToStd(task.currentRequest.URL.absoluteString) : t->responseUrl;
  done.metrics = t->metrics;
  if (code == 0 && t->writer) {
    if (t->writer->CapturingErrorBody()) {
      t->writer->Fail(0, &done);
      done.responseBody = std::move(t->writer->ErrorBody());
    } else {
      std::string location;
      code = t->writer->Commit(t->responseUrl, &location);
      if (code == 0) {
        Event completed;
        completed.type = EventType::DownloadCompleted;
        completed.taskIdentifier = t->request.taskIdentifier;
        completed.statusCode = t->status;
        completed.location = std::move(location);
        _state->Post(std::move(completed));
      }
    }
  }
  if (code != 0) {
    if (t->writer) t->writer->Fail(code, &done);
    done.errorCode = code;
    done.message = message.empty() ? urlsession::DescribeNSURLError(code) : message;
    // Background downloads: NSURLSession's own resume data (default sessions keep the portable
    // partial file instead, through DownloadWriter::Fail above).
    NSData* resume = error.userInfo[NSURLSessionDownloadTaskResumeData];
    if ([resume isKindOfClass:[NSData class]]) _state->resumeData[@(t->request.taskIdentifier)] = resume;
  }
  if (t->request.kind != TaskKind::Download || (!t->writer && !t->body.empty())) done.responseBody = std::move(t->body);
  if (!t->temporaryBody.empty()) unlink(t->temporaryBody.c_str());
  _state->byId.erase(t->request.taskIdentifier);
  _state->tasks.erase(task.taskIdentifier);  // t is gone after this line
  _state->Post(std::move(done));
}

// NSURLSession calls this only after every task's didCompleteWithError.
- (void)URLSession:(NSURLSession*)session didBecomeInvalidWithError:(NSError*)error {
  Event event;
  event.type = EventType::SessionInvalidated;
  _state->Post(std::move(event));
}

// A relaunched bundled app: nsurlsessiond delivered everything it held for this session.
// JS turns this into Titanium's 'sessioneventscompleted'.
- (void)URLSessionDidFinishEventsForBackgroundURLSession:(NSURLSession*)session {
  Event event;
  event.type = EventType::BackgroundEventsDelivered;
  _state->Post(std::move(event));
}

@end

namespace urlsession {
namespace {

// JS thread (engine constructor).
// - system: a background configuration; nsurlsessiond runs the transfers.
// - a stateDirectory (state that outlives the process): the default configuration.
// - otherwise the ephemeral one: cookies and credentials in memory, private to this session and
//   gone with it, like the curl engine's; the default configuration would share the process-wide
//   cookie store between every session.
NSURLSessionConfiguration* MakeConfiguration(const SessionConfig& config, bool system) {
  NSString* identifier = ToNS(config.identifier);
  bool persistentState = system || !config.stateDirectory.empty();
  NSURLSessionConfiguration* c = system            ? [NSURLSessionConfiguration backgroundSessionConfigurationWithIdentifier:identifier]
                                 : persistentState ? [NSURLSessionConfiguration defaultSessionConfiguration]
                                                   : [NSURLSessionConfiguration ephemeralSessionConfiguration];
  NSMutableDictionary* headers = [NSMutableDictionary dictionary];
  for (const auto& header : config.additionalHeaders) headers[ToNS(header.first)] = ToNS(header.second);
  c.HTTPAdditionalHeaders = headers;
  if (config.timeoutIntervalForRequest > 0) c.timeoutIntervalForRequest = config.timeoutIntervalForRequest;
  if (config.timeoutIntervalForResource > 0) c.timeoutIntervalForResource = config.timeoutIntervalForResource;
  c.HTTPMaximumConnectionsPerHost = config.maximumConnectionsPerHost;
  // Same as the curl engine: no response cache, every request goes to the server.
  c.URLCache = nil;
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
    case CookieAcceptPolicy::Always:
      c.HTTPCookieAcceptPolicy = NSHTTPCookieAcceptPolicyAlways;
      break;
  }
  // Persistent state: a cookie store of the session's own, kept on disk by Foundation under the
  // session identifier (macOS 10.11+), instead of the process-wide shared one. Background
  // sessions need a store nsurlsessiond can find by name, which this is. Not in stateDirectory:
  // Foundation has no API to put a cookie store at a path of ours.
  if (persistentState && config.cookieAcceptPolicy != CookieAcceptPolicy::Never) {
    c.HTTPCookieStorage = [NSHTTPCookieStorage sharedCookieStorageForGroupContainerIdentifier:identifier];
  }
  if (config.proxyMode == ProxyMode::Direct) {
    c.connectionProxyDictionary = @{};
  } else if (config.proxyMode == ProxyMode::Explicit) {
    NSURL* proxy = [NSURL URLWithString:ToNS(config.proxyUrl)];
    NSNumber* port = proxy.port ?: @([proxy.scheme isEqualToString:@"https"] ? 443 : 80);
    NSMutableArray* exceptions = [NSMutableArray array];
    for (NSString* host in [ToNS(config.noProxy) componentsSeparatedByString:@","]) {
      if (host.length > 0) [exceptions addObject:host];
    }
    c.connectionProxyDictionary = @{
      (__bridge NSString*)kCFNetworkProxiesHTTPEnable : @1,
      (__bridge NSString*)kCFNetworkProxiesHTTPProxy : proxy.host ?: @"",
      (__bridge NSString*)kCFNetworkProxiesHTTPPort : port,
      (__bridge NSString*)kCFNetworkProxiesHTTPSEnable : @1,
      (__bridge NSString*)kCFNetworkProxiesHTTPSProxy : proxy.host ?: @"",
      (__bridge NSString*)kCFNetworkProxiesHTTPSPort : port,
      (__bridge NSString*)kCFNetworkProxiesExceptionsList : exceptions,
    };
  }
  return c;
}

// Delegate queue. A task that cannot start still completes, with a code, like any other.
void FailBeforeStart(AppleSessionState& state, const TaskRequest& request, int code) {
  Event done;
  done.type = EventType::TaskCompleted;
  done.taskIdentifier = request.taskIdentifier;
  done.errorCode = code;
  done.message = DescribeNSURLError(code);
  state.Post(std::move(done));
}

// Delegate queue: builds the NSURLSessionTask and starts it. Running here (not on the JS thread)
// orders it with CancelTask and invalidation, and keeps the task maps single-threaded.
void StartOnQueue(AppleSessionState& state, TaskRequest request) {
  @autoreleasepool {
    if (state.closed || state.session == nil) return;
    // A task on an invalidated session would raise an Objective-C exception; JS refuses new
    // tasks by then, this is the backstop (the curl engine cancels them the same way).
    if (state.invalidated) return FailBeforeStart(state, request, kNSURLErrorCancelled);
    NSURL* url = [NSURL URLWithString:ToNS(request.url)];
    if (url == nil) return FailBeforeStart(state, request, kNSURLErrorBadURL);
    NSMutableURLRequest* http = [NSMutableURLRequest requestWithURL:url];
    http.HTTPMethod = ToNS(request.method);
    if (request.timeout > 0) http.timeoutInterval = request.timeout;
    // Per-request headers win: HTTPAdditionalHeaders only fill names the request lacks.
    // addValue: keeps repeated names (joined with ", " as HTTP allows).
    for (const auto& header : request.headers) [http addValue:ToNS(header.second) forHTTPHeaderField:ToNS(header.first)];

    auto t = std::make_unique<AppleTask>(request, state.config.progressIntervalMs);
    NSURLSessionTask* task = nil;
    @try {
      if (request.bodySource == BodySource::File) {
        struct stat st;
        if (stat(request.bodyPath.c_str(), &st) != 0) return FailBeforeStart(state, request, NSURLErrorFromErrno(errno, false));
        if (S_ISDIR(st.st_mode)) return FailBeforeStart(state, request, kNSURLErrorFileIsDirectory);
        t->uploadExpected = static_cast<int64_t>(st.st_size);
      } else if (request.bodySource == BodySource::Memory) {
        t->uploadExpected = static_cast<int64_t>(request.bodyBytes.size());
      }
      if (request.kind == TaskKind::Download && !state.system) {
        // A data task feeding DownloadWriter: resume, integrity and error pages as on Linux.
        t->writer = std::make_unique<DownloadWriter>(t->request);
        int code = t->writer->Open();
        if (code != 0) return FailBeforeStart(state, request, code);
        if (t->writer->ResumeOffset() > 0) {
          [http setValue:[NSString stringWithFormat:@"bytes=%lld-", static_cast<long long>(t->writer->ResumeOffset())] forHTTPHeaderField:@"Range"];
          if (!request.resumeValidator.empty()) [http setValue:ToNS(request.resumeValidator) forHTTPHeaderField:@"If-Range"];
        }
        task = [state.session dataTaskWithRequest:http];
      } else if (request.kind == TaskKind::Download || (state.system && request.kind == TaskKind::Data && request.bodySource == BodySource::None)) {
        task = [state.session downloadTaskWithRequest:http];
      } else if (request.bodySource == BodySource::None) {
        task = [state.session dataTaskWithRequest:http];
      } else {
        NSURL* file = nil;
        if (request.bodySource == BodySource::File) {
          file = [NSURL fileURLWithPath:ToNS(request.bodyPath)];
        } else if (state.system) {
          // Background sessions upload from files only.
          std::string temporary = ToStd(NSTemporaryDirectory()) + "urlsession-body-XXXXXX";
          int fd = mkstemp(temporary.data());
          if (fd < 0) return FailBeforeStart(state, request, kNSURLErrorCannotCreateFile);
          bool written = true;
          for (size_t done = 0; written && done < request.bodyBytes.size();) {
            ssize_t n = write(fd, request.bodyBytes.data() + done, request.bodyBytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            written = n > 0;
            if (written) done += static_cast<size_t>(n);
          }
          close(fd);
          if (!written) {
            unlink(temporary.c_str());
            return FailBeforeStart(state, request, kNSURLErrorCannotWriteToFile);
          }
          t->temporaryBody = temporary;
          file = [NSURL fileURLWithPath:ToNS(temporary)];
        }
        if (file != nil) {
          task = [state.session uploadTaskWithRequest:http fromFile:file];
        } else {
          NSData* body = [NSData dataWithBytes:request.bodyBytes.data() length:request.bodyBytes.size()];
          task = [state.session uploadTaskWithRequest:http fromData:body];
        }
      }
    } @catch (NSException* exception) {
      // Foundation rejects some requests by raising (a background session given a request it
      // cannot take, for one): a failed task, never a crashed process.
      task = nil;
    }
    if (task == nil) {
      if (t->writer) t->writer->Abandon();
      if (!t->temporaryBody.empty()) unlink(t->temporaryBody.c_str());
      return FailBeforeStart(state, request, kNSURLErrorUnknown);
    }
    task.taskDescription = DescribeTask(request, "");
    t->task = task;
    state.byId[request.taskIdentifier] = task.taskIdentifier;
    state.tasks[task.taskIdentifier] = std::move(t);
    [task resume];
  }
}

// A relaunched process: adopt the tasks nsurlsessiond kept for this background session.
void AdoptSystemTasks(const std::shared_ptr<AppleSessionState>& state) {
  [state->session getAllTasksWithCompletionHandler:^(NSArray<__kindof NSURLSessionTask*>* tasks) {
    [state->queue addOperationWithBlock:^{
      @autoreleasepool {
        for (NSURLSessionTask* task in tasks) FindOrAdopt(*state, task);
      }
    }];
  }];
}

}  // namespace

AppleEngine::AppleEngine(const SessionConfig& config, EventSink* sink) : state_(std::make_shared<AppleSessionState>()) {
  @autoreleasepool {
    state_->config = config;
    state_->sink = sink;
    // Background sessions need a bundle identifier (a packaged app); plain `node` has none and
    // gets a default configuration with urlsession's own journal instead ('emulated').
    state_->system = config.persistent && [[NSBundle mainBundle] bundleIdentifier] != nil;
    state_->anchors = CertificatesFromPem(config.tls.caPem);
    state_->queue = [[NSOperationQueue alloc] init];
    state_->queue.maxConcurrentOperationCount = 1;
    state_->queue.name = @"urlsession delegate queue";
    URLSessionEngineDelegate* delegate = [[URLSessionEngineDelegate alloc] initWithState:state_];
    state_->session = [NSURLSession sessionWithConfiguration:MakeConfiguration(config, state_->system)
                                                    delegate:delegate
                                               delegateQueue:state_->queue];
    if (state_->system) AdoptSystemTasks(state_);
  }
}

AppleEngine::~AppleEngine() { Shutdown(); }

bool AppleEngine::UsesSystemBackground() const { return state_->system; }

void AppleEngine::StartTask(TaskRequest request) {
  @autoreleasepool {  // the JS thread has no pool of its own
    auto state = state_;
    auto shared = std::make_shared<TaskRequest>(std::move(request));
    [state->queue addOperationWithBlock:^{
      StartOnQueue(*state, std::move(*shared));
    }];
  }
}

void AppleEngine::CancelTask(uint64_t taskIdentifier) {
  @autoreleasepool {  // the JS thread has no pool of its own
    auto state = state_;
    [state->queue addOperationWithBlock:^{
      if (AppleTask* t = state->FindById(taskIdentifier)) [t->task cancel];
    }];
  }
}

void AppleEngine::SuspendTask(uint64_t taskIdentifier) {
  @autoreleasepool {  // the JS thread has no pool of its own
    auto state = state_;
    [state->queue addOperationWithBlock:^{
      AppleTask* t = state->FindById(taskIdentifier);
      if (t == nullptr || t->userSuspended) return;
      t->userSuspended = true;
      [t->task suspend];
    }];
  }
}

void AppleEngine::ResumeTask(uint64_t taskIdentifier) {
  @autoreleasepool {  // the JS thread has no pool of its own
    auto state = state_;
    [state->queue addOperationWithBlock:^{
      AppleTask* t = state->FindById(taskIdentifier);
      if (t == nullptr || !t->userSuspended) return;
      t->userSuspended = false;
      if (!t->backpressure) [t->task resume];
    }];
  }
}

void AppleEngine::AcknowledgeBody(uint64_t taskIdentifier, int64_t bytes) {
  @autoreleasepool {  // the JS thread has no pool of its own
    auto state = state_;
    [state->queue addOperationWithBlock:^{
      AppleTask* t = state->FindById(taskIdentifier);
      if (t == nullptr) return;
      t->unacknowledged = std::max<int64_t>(0, t->unacknowledged - bytes);
      if (t->backpressure && t->unacknowledged <= kStreamHighWaterBytes / 2) {
        t->backpressure = false;
        if (!t->userSuspended) [t->task resume];
      }
    }];
  }
}

// JS thread. Hops onto the delegate queue so that tasks whose StartTask block is still queued
// are created first (creating one on an invalidated session raises an exception). NSURLSession
// then posts SessionInvalidated through didBecomeInvalidWithError: after every TaskCompleted.
void AppleEngine::FinishTasksAndInvalidate() {
  @autoreleasepool {  // the JS thread has no pool of its own
    auto state = state_;
    [state->queue addOperationWithBlock:^{
      if (state->closed || state->invalidated) return;
      state->invalidated = true;
      [state->session finishTasksAndInvalidate];
    }];
  }
}

void AppleEngine::InvalidateAndCancel() {
  @autoreleasepool {  // the JS thread has no pool of its own
    auto state = state_;
    [state->queue addOperationWithBlock:^{
      if (state->closed) return;
      state->invalidated = true;
      [state->session invalidateAndCancel];  // also after finishTasksAndInvalidate: cancels what runs
    }];
  }
}

// The completion handlers of reset/flush run on an arbitrary queue: hop back onto the
// delegate queue, where Post() is allowed.
static void PostTokenEvent(const std::shared_ptr<AppleSessionState>& state, EventType type, uint64_t token) {
  [state->queue addOperationWithBlock:^{
    Event event;
    event.type = type;
    event.token = token;
    state->Post(std::move(event));
  }];
}

// JS thread; the work happens on Foundation's threads.
void AppleEngine::Reset(uint64_t token) {
  @autoreleasepool {  // the JS thread has no pool of its own
    auto state = state_;
    [state->queue addOperationWithBlock:^{
      [state->session resetWithCompletionHandler:^{
        PostTokenEvent(state, EventType::ResetCompleted, token);
      }];
    }];
  }
}

void AppleEngine::Flush(uint64_t token) {
  @autoreleasepool {  // the JS thread has no pool of its own
    auto state = state_;
    [state->queue addOperationWithBlock:^{
      [state->session flushWithCompletionHandler:^{
        PostTokenEvent(state, EventType::FlushCompleted, token);
      }];
    }];
  }
}

// JS thread (env cleanup, session close, destructor). Idempotent. Silences the sink at once
// (under the post mutex), then lets the delegate queue drop every task and delete the partial
// files, waiting for that a bounded time: a callback stuck in a slow trust evaluation must not
// hang process exit. The state outlives the engine in the queued blocks, so a late cleanup is safe.
void AppleEngine::Shutdown() {
  @autoreleasepool {  // the JS thread has no pool of its own
    auto state = state_;
    {
      std::lock_guard<std::mutex> lock(state->postMutex);
      if (state->closed) return;
      state->closed = true;
    }
    dispatch_semaphore_t cleaned = dispatch_semaphore_create(0);
    [state->queue addOperationWithBlock:^{
      for (auto& entry : state->tasks) {
        if (entry.second->writer) entry.second->writer->Abandon();
        if (!entry.second->temporaryBody.empty()) unlink(entry.second->temporaryBody.c_str());
      }
      state->tasks.clear();
      state->byId.clear();
      dispatch_semaphore_signal(cleaned);
    }];
    dispatch_semaphore_wait(cleaned, dispatch_time(DISPATCH_TIME_NOW, 5 * static_cast<int64_t>(NSEC_PER_SEC)));
    // A background session's transfers continue in nsurlsessiond: let them (they are found again
    // at the next launch). Otherwise cancel; callbacks that still arrive find no task and post
    // nothing.
    if (state->system) [state->session finishTasksAndInvalidate];
    else [state->session invalidateAndCancel];
  }
}

}  // namespace urlsession
