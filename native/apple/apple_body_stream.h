// The Apple engine's side of a request body streamed from JS (core/body_stream.h): which bytes go
// next into the output end of the bound stream pair whose input end NSURLSession reads
// (uploadTaskWithStreamedRequest:), keeping what the output end did not take yet, and whether a
// needNewBodyStream may be answered. Portable C++ (no Foundation), tested on Linux by
// test/native/apple_model_test.cc. Delegate queue only (the model's thread).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/body_stream.h"

namespace urlsession {

class AppleBodyStream {
 public:
  explicit AppleBodyStream(std::shared_ptr<BodyStream> stream) : stream_(std::move(stream)) {}

  // NSURLSession.h: needNewBodyStream comes when a task with a streamed body starts, and again
  // when the body must be sent again (a 307/308 redirect, an authentication retry). The first is
  // answered with the bound pair's input end; a later one would need bytes that are gone: refused.
  bool AnswerNeedNewBodyStream();

  enum class Step : uint8_t {
    Write,  // write data/length into the output end, then report Wrote()
    Wait,   // nothing from JS yet: writing goes on when JS writes (AppleSessionModel::BodyArrived)
    Close,  // every byte was written: close the output end (the server sees the body's end)
    Fail,   // JS's stream failed or broke its Content-Length: the task fails (-1021)
  };
  struct Next {
    Step step = Step::Wait;
    const char* data = nullptr;
    size_t length = 0;
    bool postWanted = false;  // post BodyWanted: JS waits for the room this made
  };
  // The output end has room (NSStreamEventHasSpaceAvailable, or JS wrote while waiting): what to
  // do with it, at most `capacity` bytes.
  Next Take(size_t capacity);
  // The output end took `bytes` of the last Write (maybe fewer than offered).
  void Wrote(size_t bytes);
  // The task ended: JS's later writes are dropped.
  void Close();
  // Every byte went into the output end (Take said Close).
  bool Ended() const { return ended_; }

 private:
  std::shared_ptr<BodyStream> stream_;
  std::string staged_;  // read from the stream, not yet taken by the output end
  size_t offset_ = 0;   // staged_'s bytes before this one were taken
  bool answered_ = false;
  bool ended_ = false;
};

}  // namespace urlsession
