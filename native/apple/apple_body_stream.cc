#include "apple/apple_body_stream.h"

#include <algorithm>

namespace urlsession {

bool AppleBodyStream::AnswerNeedNewBodyStream() {
  if (answered_) return false;
  answered_ = true;
  return true;
}

AppleBodyStream::Next AppleBodyStream::Take(size_t capacity) {
  Next next;
  if (offset_ >= staged_.size()) {
    staged_.resize(capacity);
    BodyStream::ReadResult read = stream_->Read(&staged_[0], capacity);
    staged_.resize(read.produced);
    offset_ = 0;
    next.postWanted = read.postWanted;
    switch (read.state) {
      case BodyStream::ReadState::Data: break;
      case BodyStream::ReadState::Empty: next.step = Step::Wait; return next;
      case BodyStream::ReadState::Ended:
        ended_ = true;
        next.step = Step::Close;
        return next;
      case BodyStream::ReadState::Failed: next.step = Step::Fail; return next;
    }
  }
  next.step = Step::Write;
  next.data = staged_.data() + offset_;
  next.length = staged_.size() - offset_;
  return next;
}

void AppleBodyStream::Wrote(size_t bytes) { offset_ = std::min(staged_.size(), offset_ + bytes); }

void AppleBodyStream::Close() {
  stream_->Close();
  std::string().swap(staged_);
  offset_ = 0;
}

}  // namespace urlsession
