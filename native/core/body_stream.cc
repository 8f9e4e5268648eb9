#include "core/body_stream.h"

#include <algorithm>
#include <cstring>

namespace urlsession {

BodyStream::WriteResult BodyStream::Write(std::string bytes, BodyStreamEnd end) {
  WriteResult result;
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || end_ != BodyStreamEnd::None) return result;
  written_ += static_cast<int64_t>(bytes.size());
  if (!bytes.empty()) {
    queued_ += static_cast<int64_t>(bytes.size());
    chunks_.push_back(std::move(bytes));
  }
  // More than the declared length, or less at the end: the body can never be what the request
  // promised (the server would wait for the rest until a timeout).
  if (length_ >= 0 && (written_ > length_ || (end == BodyStreamEnd::Ended && written_ != length_))) {
    end = BodyStreamEnd::Failed;
  }
  end_ = end;
  result.wantsMore = end_ == BodyStreamEnd::None && queued_ < kBodyStreamHighWaterBytes;
  if (!result.wantsMore && end_ == BodyStreamEnd::None) wanted_owed_ = true;
  result.wakeConsumer = consumer_waiting_ && (queued_ > 0 || end_ != BodyStreamEnd::None);
  if (result.wakeConsumer) consumer_waiting_ = false;
  return result;
}

BodyStream::ReadResult BodyStream::Read(char* buffer, size_t capacity) {
  ReadResult result;
  std::lock_guard<std::mutex> lock(mutex_);
  if (end_ == BodyStreamEnd::Failed) {
    result.state = ReadState::Failed;
    return result;
  }
  while (result.produced < capacity && !chunks_.empty()) {
    const std::string& chunk = chunks_.front();
    size_t take = std::min(capacity - result.produced, chunk.size() - front_offset_);
    std::memcpy(buffer + result.produced, chunk.data() + front_offset_, take);
    result.produced += take;
    front_offset_ += take;
    if (front_offset_ == chunk.size()) {
      chunks_.pop_front();
      front_offset_ = 0;
    }
  }
  queued_ -= static_cast<int64_t>(result.produced);
  consumed_ += static_cast<int64_t>(result.produced);
  if (result.produced > 0) {
    result.state = ReadState::Data;
  } else if (end_ == BodyStreamEnd::Ended) {
    result.state = ReadState::Ended;
  } else {
    result.state = ReadState::Empty;
    consumer_waiting_ = true;
  }
  if (wanted_owed_ && queued_ <= kBodyStreamLowWaterBytes) {
    wanted_owed_ = false;
    result.postWanted = true;
  }
  return result;
}

void BodyStream::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  chunks_.clear();
  queued_ = 0;
  front_offset_ = 0;
}

std::shared_ptr<BodyStream> BodyStreams::Open(uint64_t taskIdentifier, int64_t length) {
  auto stream = std::make_shared<BodyStream>(length);
  std::lock_guard<std::mutex> lock(mutex_);
  streams_[taskIdentifier] = stream;
  return stream;
}

std::shared_ptr<BodyStream> BodyStreams::Find(uint64_t taskIdentifier) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = streams_.find(taskIdentifier);
  return found == streams_.end() ? nullptr : found->second;
}

void BodyStreams::Remove(uint64_t taskIdentifier) {
  std::lock_guard<std::mutex> lock(mutex_);
  streams_.erase(taskIdentifier);
}

}  // namespace urlsession
