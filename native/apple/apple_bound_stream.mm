// URLSessionBodyWriter (apple_bound_stream.h): translates only; the model decides what to write.
#import <Foundation/Foundation.h>

#include <unordered_map>

#include "apple/apple_bound_stream.h"
#include "apple/apple_delegate.h"

using urlsession::AppleBodyStream;
using urlsession::AppleSessionModel;
using urlsession::Commands;
using urlsession::NsTaskId;

namespace {

// Bytes the pair holds between our writes and NSURLSession's reads, on top of the model's queue
// (core/body_stream.h): enough for NSURLSession to read large slices.
constexpr CFIndex kBoundPairBytes = 256 * 1024;
// The most one OnBodySpace stages for one write.
constexpr size_t kWriteBytes = 64 * 1024;

}  // namespace

@implementation URLSessionBodyWriter {
  std::unordered_map<NsTaskId, NSOutputStream*> _outputs;
}

- (NSInputStream*)openFor:(NsTaskId)task {
  [self closeFor:task];
  CFReadStreamRef readEnd = nullptr;
  CFWriteStreamRef writeEnd = nullptr;
  CFStreamCreateBoundPair(kCFAllocatorDefault, &readEnd, &writeEnd, kBoundPairBytes);
  if (readEnd == nullptr || writeEnd == nullptr) {
    if (readEnd != nullptr) CFRelease(readEnd);
    if (writeEnd != nullptr) CFRelease(writeEnd);
    return nil;
  }
  NSInputStream* input = CFBridgingRelease(readEnd);
  NSOutputStream* output = CFBridgingRelease(writeEnd);
  output.delegate = self;
  // CFStream.h: the stream's events go to this dispatch queue: the delegate queue's own
  // (NSOperation.h, underlyingQueue), so they never run beside a delegate callback.
  CFWriteStreamSetDispatchQueue((__bridge CFWriteStreamRef)output, [NSOperationQueue currentQueue].underlyingQueue);
  [output open];
  _outputs[task] = output;
  return input;
}

- (void)stream:(NSStream*)stream handleEvent:(NSStreamEvent)event {
  @autoreleasepool {
    for (const auto& entry : _outputs) {
      if (entry.second != stream) continue;
      NsTaskId task = entry.first;
      if ((event & (NSStreamEventErrorOccurred | NSStreamEventEndEncountered)) != 0)
        [self closeFor:task];  // NSURLSession stopped reading: the task is ending
      else if ((event & NSStreamEventHasSpaceAvailable) != 0)
        [self writeFor:task];
      return;
    }
  }
}

- (void)writeFor:(NsTaskId)task {
  auto found = _outputs.find(task);
  URLSessionEngineDelegate* owner = self.owner;
  std::shared_ptr<AppleSessionModel> model = owner == nil ? nullptr : [owner model];
  if (found == _outputs.end() || !model) return;
  NSOutputStream* output = found->second;
  while (output.hasSpaceAvailable) {
    Commands commands;
    AppleBodyStream::Next next = model->OnBodySpace(task, kWriteBytes, &commands);
    [owner perform:commands];  // a failed stream: the task's cancel
    if (next.step != AppleBodyStream::Step::Write) {
      // Close: the end of the body (chunked: the last chunk); Fail: the task is being cancelled.
      if (next.step != AppleBodyStream::Step::Wait) [self closeFor:task];
      return;
    }
    NSInteger written = [output write:reinterpret_cast<const uint8_t*>(next.data) maxLength:next.length];
    if (written <= 0) {
      [self closeFor:task];  // the input end is gone
      return;
    }
    model->OnBodyWritten(task, static_cast<size_t>(written));
  }
}

- (void)closeFor:(NsTaskId)task {
  auto found = _outputs.find(task);
  if (found == _outputs.end()) return;
  NSOutputStream* output = found->second;
  _outputs.erase(found);
  output.delegate = nil;
  CFWriteStreamSetDispatchQueue((__bridge CFWriteStreamRef)output, nullptr);
  [output close];
}

@end
