#include "curl/curl_engine.h"

namespace urlsession {

std::unique_ptr<Engine> CreateEngine(const SessionConfig& config, EventSink* sink) {
  return std::make_unique<CurlEngine>(config, sink);
}

const char* DefaultEngineName() { return "curl"; }

}  // namespace urlsession
