// A request body that JS streams to an engine while the engine sends it (fetch's ReadableStream
// with duplex: 'half', request({ body: stream })): a bounded, thread-safe queue of chunks, with
// its backpressure rule defined once for both engines. The producer is the JS thread (the
// bridge's writeBody), the consumer an engine thread (curl's read callback, the Apple engine's
// bound stream writer). Plain C++, no engine types.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace urlsession {

// JS is asked for more once the queue falls to kBodyStreamLowWaterBytes after Write said "no
// more"; Write says "no more" once it holds kBodyStreamHighWaterBytes (one chunk may pass it).
constexpr int64_t kBodyStreamHighWaterBytes = 1 << 20;
constexpr int64_t kBodyStreamLowWaterBytes = kBodyStreamHighWaterBytes / 2;

enum class BodyStreamEnd : uint8_t { None = 0, Ended = 1, Failed = 2 };

class BodyStream {
 public:
  // `length`: the Content-Length the caller declared, -1 when none (sent chunked on HTTP/1.1).
  explicit BodyStream(int64_t length) : length_(length) {}

  struct WriteResult {
    bool wantsMore = false;     // JS may write again at once; otherwise it waits for BodyWanted
    bool wakeConsumer = false;  // the consumer found the queue empty and waits for this
  };
  // JS thread: a chunk (may be empty) and/or the end. After the end, or after Close, writes are
  // dropped (wantsMore false).
  WriteResult Write(std::string bytes, BodyStreamEnd end);

  enum class ReadState : uint8_t { Data, Empty, Ended, Failed };
  struct ReadResult {
    ReadState state = ReadState::Empty;
    size_t produced = 0;
    bool postWanted = false;  // post BodyWanted now: JS waits for room that this read made
  };
  // Consumer thread: up to `capacity` bytes into `buffer`. Empty: nothing yet (the next Write
  // says wakeConsumer). Ended: every byte was read and JS ended the stream. Failed: JS's stream
  // failed, or it ended at other than the declared length, or gave more than it.
  ReadResult Read(char* buffer, size_t capacity);

  // Consumer thread: the body is no longer wanted (the task ended, a redirect dropped the body):
  // the queue is freed and later writes are dropped.
  void Close();

  int64_t length() const { return length_; }
  // Bytes handed to the consumer so far (consumer thread).
  int64_t consumed() const { return consumed_; }

 private:
  const int64_t length_;
  std::mutex mutex_;
  std::deque<std::string> chunks_;
  size_t front_offset_ = 0;  // bytes of chunks_.front() already read
  int64_t queued_ = 0;       // bytes in chunks_ not yet read
  int64_t written_ = 0;      // every byte JS wrote
  BodyStreamEnd end_ = BodyStreamEnd::None;
  bool closed_ = false;
  bool wanted_owed_ = false;       // Write said "no more": the consumer owes a BodyWanted
  bool consumer_waiting_ = false;  // the last Read found nothing
  int64_t consumed_ = 0;           // consumer thread only
};

// The streamed bodies of one session's running tasks, by task identifier: the JS thread finds a
// task's stream here without a trip through the engine thread. Thread-safe.
class BodyStreams {
 public:
  std::shared_ptr<BodyStream> Open(uint64_t taskIdentifier, int64_t length);
  std::shared_ptr<BodyStream> Find(uint64_t taskIdentifier);
  void Remove(uint64_t taskIdentifier);

 private:
  std::mutex mutex_;
  std::map<uint64_t, std::shared_ptr<BodyStream>> streams_;
};

}  // namespace urlsession
