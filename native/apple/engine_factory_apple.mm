// macOS builds drive NSURLSession.
#include "apple/apple_engine.h"

namespace urlsession {

std::unique_ptr<Engine> CreateEngine(const SessionConfig& config, EventSink* sink, std::string* failure) {
  return std::make_unique<AppleEngine>(config, sink);
}

const char* DefaultEngineName() { return "apple"; }

}  // namespace urlsession
