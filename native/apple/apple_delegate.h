// The NSURLSession delegate of an Apple session: translates each callback into plain values for
// AppleSessionModel and performs the Commands it returns on the NSURLSessionTask objects, the
// only per-task state it keeps. Objective-C++ header for the .mm files. Every method runs on the
// session's serial delegate queue.
#pragma once

#import <Foundation/Foundation.h>

#include <memory>

#include "apple/apple_configuration.h"
#include "apple/apple_session_model.h"

@interface URLSessionEngineDelegate : NSObject <NSURLSessionDataDelegate, NSURLSessionDownloadDelegate>
@property(nonatomic, strong) NSArray* anchors;  // tls.caPem as SecCertificateRefs
// Called after the model heard didBecomeInvalidWithError: (the engine forgets the session).
@property(nonatomic, copy) void (^invalidated)(NSURLSession* session);
// Points the delegate at a model (a new environment re-creating a background identifier).
- (void)attach:(std::shared_ptr<urlsession::AppleSessionModel>)model proxy:(urlsession::AppleProxy)proxy;
- (std::shared_ptr<urlsession::AppleSessionModel>)model;
- (void)track:(NSURLSessionTask*)task;
// Creates the NSURLSessionTask a plan of the model describes (PlanStart, or a restart from
// OnComplete), tells the model (TaskCreated / TaskCreationFailed) and resumes it.
- (void)start:(const urlsession::StartPlan&)plan session:(NSURLSession*)session;
- (void)perform:(const urlsession::Commands&)commands;
// JS wrote to the streamed body of `task` (AppleSessionModel::BodyArrived; 0: none): write it.
- (void)writeBodyOf:(urlsession::NsTaskId)task;
// After every call into the model: creates the Range data tasks of segmented downloads it
// planned and performs the commands it queued (AppleSessionModel::TakeSegmentWork), then arms
// the progress timer (armProgressTimer).
- (void)settle:(NSURLSession*)session;
// Arms the model's progress timer when it asks for one (TakeProgressTimer).
- (void)armProgressTimer;
// The model for a callback of `task`, after adopting it if it may be a task of an earlier
// process. Null when no model is attached.
- (urlsession::AppleSessionModel*)enter:(NSURLSessionTask*)task;
@end
