// The macOS Engine (Objective-C++, ARC): creates the NSURLSession for a SessionConfig and turns
// each Engine call into a block on the delegate queue that asks AppleSessionModel
// (apple_session_model.h, where every decision is) and performs its answer. The delegate
// (apple_delegate.mm) translates the callbacks; neither keeps per-task state beyond the
// NSURLSessionTask* behind each NSURLSessionTask.taskIdentifier.
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

#import <Foundation/Foundation.h>
#import <Security/Security.h>

#include <mutex>
#include <string>
#include <unordered_map>

#include "apple/apple_configuration.h"
#include "apple/apple_delegate.h"
#include "apple/apple_engine.h"
#include "apple/apple_foundation.h"
#include "apple/apple_session_model.h"
#include "core/error_codes.h"

using urlsession::AppleSessionModel;
using urlsession::Commands;
using urlsession::NsTaskId;

namespace urlsession {

// One NSURLSession with its queue and delegate; background ones outlive their engine.
struct SessionObjects {
  NSURLSession* session = nil;
  NSOperationQueue* queue = nil;
  URLSessionEngineDelegate* delegate = nil;
  NSHTTPCookieStorage* cookies = nil;  // the session's own store (its configuration's)
};

namespace {

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
  std::string cookieJar;  // AppleConfigurationPlan::cookieJar
};

AppleEngine::AppleEngine(const SessionConfig& config, EventSink* sink) : state_(std::make_shared<AppleSessionState>()) {
  @autoreleasepool {
    state_->system = UsesBackgroundConfiguration(config, [[NSBundle mainBundle] bundleIdentifier] != nil);
    AppleConfigurationPlan plan = PlanConfiguration(config, state_->system);
    state_->cookieJar = plan.cookieJar;
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
      // A serial dispatch queue of our own under it (NSOperation.h, underlyingQueue; set before any
      // operation): streamed uploads schedule their bound streams on it (apple_bound_stream.h).
      o.queue.underlyingQueue = dispatch_queue_create("urlsession delegate queue", DISPATCH_QUEUE_SERIAL);
      o.queue.name = @"urlsession delegate queue";
      o.delegate = [[URLSessionEngineDelegate alloc] init];
      o.delegate.anchors = CertificatesFromPem(config.tls.caPem);
      [o.delegate attach:state_->model proxy:plan.proxy];
      NSURLSessionConfiguration* configuration = MakeConfiguration(config, plan);
      o.cookies = configuration.HTTPCookieStorage;
      o.session = [NSURLSession sessionWithConfiguration:configuration delegate:o.delegate delegateQueue:o.queue];
      if (state_->system) {
        BackgroundSessions()[config.identifier] = o;
        // Delegate queue: once invalid, the identifier may be created afresh (NSURLSession.h).
        std::string identifier = config.identifier;
        o.delegate.invalidated = ^(NSURLSession* invalid) {
          std::lock_guard<std::mutex> guard(gBackgroundMutex);
          auto entry = BackgroundSessions().find(identifier);
          if (entry != BackgroundSessions().end() && entry->second.session == invalid)
            BackgroundSessions().erase(entry);
        };
      }
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
static void OnQueue(const std::shared_ptr<AppleSessionState>& state,
                    void (^work)(AppleSessionModel*, URLSessionEngineDelegate*)) {
  @autoreleasepool {  // the JS thread has no pool of its own
    [state->objects.queue addOperationWithBlock:^{
      if ([state->objects.delegate model] == state->model) work(state->model.get(), state->objects.delegate);
    }];
  }
}

void AppleEngine::StartTask(TaskRequest request) {
  // JS writes a streamed body from now on, while the StartTask block is still queued.
  if (request.bodySource == BodySource::Stream)
    state_->model->bodyStreams().Open(request.taskIdentifier, request.streamedBodyLength);
  auto state = state_;
  auto shared = std::make_shared<TaskRequest>(std::move(request));
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate* delegate) {
    StartPlan plan = m->PlanStart(std::move(*shared));
    if (plan.create) [delegate start:plan session:state->objects.session];
  });
}

// Each may reach a segmented download's Range tasks too (settle performs what the model queued).
void AppleEngine::CancelTask(uint64_t taskIdentifier) {
  auto state = state_;
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate* d) {
    [d perform:m->Cancel(taskIdentifier)];
    [d settle:state->objects.session];
  });
}

void AppleEngine::SuspendTask(uint64_t taskIdentifier) {
  auto state = state_;
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate* d) {
    [d perform:m->Suspend(taskIdentifier)];
    [d settle:state->objects.session];
  });
}

void AppleEngine::ResumeTask(uint64_t taskIdentifier) {
  auto state = state_;
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate* d) {
    [d perform:m->Resume(taskIdentifier)];
    [d settle:state->objects.session];  // still held by its speed limit: the timer resumes it
  });
}

// A task held back by its pacer may go on sooner now: the model's timer answers that. A limit
// on a segmented download cancels its Range tasks (one paced request, README).
void AppleEngine::SetSpeedLimit(uint64_t taskIdentifier, int64_t bytesPerSecond) {
  auto state = state_;
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate* d) {
    m->SetSpeedLimit(taskIdentifier, bytesPerSecond);
    [d settle:state->objects.session];
  });
}

void AppleEngine::AcknowledgeBody(uint64_t taskIdentifier, int64_t bytes) {
  OnQueue(state_,
          ^(AppleSessionModel* m, URLSessionEngineDelegate* d) { [d perform:m->Acknowledge(taskIdentifier, bytes)]; });
}

// JS thread: queued at once; the delegate queue is asked to write only when the writer waits.
bool AppleEngine::WriteBody(uint64_t taskIdentifier, std::string bytes, BodyStreamEnd end) {
  std::shared_ptr<BodyStream> stream = state_->model->bodyStreams().Find(taskIdentifier);
  if (!stream) return false;
  BodyStream::WriteResult result = stream->Write(std::move(bytes), end);
  if (result.wakeConsumer) {
    OnQueue(state_,
            ^(AppleSessionModel* m, URLSessionEngineDelegate* d) { [d writeBodyOf:m->BodyArrived(taskIdentifier)]; });
  }
  return result.wantsMore;
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

// NSURLSession.h (resetWithCompletionHandler:, flushWithCompletionHandler:): "Invokes
// completionHandler() on the delegate queue", where the model lives.
void AppleEngine::Reset(uint64_t token) {
  auto state = state_;
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate*) {
    if (!m->Reset(token)) return;
    [state->objects.session resetWithCompletionHandler:^{
      SaveCookies(state->objects.cookies, state->cookieJar);  // now empty
      state->model->OnResetDone(token);
    }];
  });
}

void AppleEngine::Flush(uint64_t token) {
  auto state = state_;
  OnQueue(state_, ^(AppleSessionModel* m, URLSessionEngineDelegate*) {
    if (!m->Flush(token)) return;
    [state->objects.session flushWithCompletionHandler:^{
      SaveCookies(state->objects.cookies, state->cookieJar);
      state->model->OnFlushDone(token);
    }];
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
    SaveCookies(state->objects.cookies, state->cookieJar);
    dispatch_semaphore_t cleaned = dispatch_semaphore_create(0);
    __block bool cancel = false;
    [state->objects.queue addOperationWithBlock:^{
      cancel = state->model->Shutdown();
      dispatch_semaphore_signal(cleaned);
    }];
    long timedOut =
        dispatch_semaphore_wait(cleaned, dispatch_time(DISPATCH_TIME_NOW, 5 * static_cast<int64_t>(NSEC_PER_SEC)));
    if (timedOut == 0 ? cancel : !state->system) [state->objects.session invalidateAndCancel];
  }
}

}  // namespace urlsession
