// The output ends of streamed uploads' bound stream pairs (CFStreamCreateBoundPair): NSURLSession
// reads each pair's input end as the task's body (needNewBodyStream); this writes the output end
// with what AppleSessionModel::OnBodySpace says (apple_body_stream.h), whenever it has room or JS
// wrote. Objective-C++ header for the .mm files. Delegate queue only: the output ends are
// scheduled on the delegate queue's own serial dispatch queue (apple_engine.mm sets it), so
// their events run in turn with the delegate's callbacks.
#pragma once

#import <Foundation/Foundation.h>

#include "apple/apple_session_model.h"

@class URLSessionEngineDelegate;

@interface URLSessionBodyWriter : NSObject <NSStreamDelegate>
// Whose model decides and whose tasks the commands act on.
@property(nonatomic, weak) URLSessionEngineDelegate* owner;
// A new bound pair for `task`: its output end is written from now on; returns the input end for
// needNewBodyStream's handler (nil when no pair could be made).
- (NSInputStream*)openFor:(urlsession::NsTaskId)task;
// Writes while the output end has room and the model has bytes (JS wrote, or it has room again).
- (void)writeFor:(urlsession::NsTaskId)task;
// The task ended: its output end is closed and forgotten.
- (void)closeFor:(urlsession::NsTaskId)task;
@end
