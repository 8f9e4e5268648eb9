#include "curl/curl_engine.h"

namespace urlsession {

std::unique_ptr<Engine> CreateEngine(const SessionConfig& config, EventSink* sink, std::string* failure) {
  auto engine = std::make_unique<CurlEngine>(config, sink);
  if (engine->StartFailure().empty()) return engine;
  *failure = engine->StartFailure();
  return nullptr;
}

const char* DefaultEngineName() { return "curl"; }

}  // namespace urlsession
