#include "bridge/event_to_js.h"

#include <cstring>

namespace urlsession {

// U+0000 ends each text field. None can hold one today: libcurl fails a response with a NUL
// byte in a header (tested: -1011), and URLs, paths and messages cannot contain it. Should an
// engine ever pass one on, it arrives as U+FFFD instead of shifting every later field.
void EventBatchEncoder::Text(const std::string& value) {
  if (value.find('\0') == std::string::npos) {
    text_.append(value);
  } else {
    for (char c : value) {
      if (c == '\0') text_.append("\xEF\xBF\xBD");
      else text_.push_back(c);
    }
  }
  text_.push_back('\0');
}

// Only non-empty bodies travel; the event carries the length, and JS makes empty ones itself.
void EventBatchEncoder::Body(const std::string& bytes) {
  numbers_.push_back(static_cast<double>(bytes.size()));
  if (!bytes.empty()) bodies_.push_back(&bytes);
}

// The field order of each event type is lib/native-events.ts's decodeEvents; the two change
// together (every event type is exercised by the test suite, so a mismatch fails it).
void EventBatchEncoder::EncodeEvent(const Event& event) {
  numbers_.push_back(static_cast<double>(event.type));
  numbers_.push_back(static_cast<double>(event.taskIdentifier));
  switch (event.type) {
    case EventType::DownloadProgress:
    case EventType::UploadProgress:
      numbers_.push_back(static_cast<double>(event.totalBytes));
      numbers_.push_back(static_cast<double>(event.expectedBytes));
      break;
    case EventType::Response:
      numbers_.push_back(event.statusCode);
      numbers_.push_back(static_cast<double>(event.expectedBytes));
      numbers_.push_back(static_cast<double>(event.responseHeaders.size()));
      Text(event.url);
      for (const auto& header : event.responseHeaders) {
        Text(header.first);
        Text(header.second);
      }
      break;
    case EventType::DownloadCompleted:
      numbers_.push_back(event.statusCode);
      Text(event.location);
      break;
    case EventType::TaskCompleted: {
      const TaskMetrics& m = event.metrics;
      numbers_.insert(numbers_.end(), {static_cast<double>(event.statusCode), static_cast<double>(event.errorCode),
                                       m.dnsMs, m.connectMs, m.tlsMs, m.firstByteMs, m.totalMs,
                                       static_cast<double>(m.bytesSent), static_cast<double>(m.bytesReceived),
                                       static_cast<double>(m.redirectCount)});
      Body(event.responseBody);
      Text(event.message);
      Text(event.url);
      Text(m.protocol);
      Text(m.remoteAddress);
      bool partial = !event.partialPath.empty();
      numbers_.push_back(partial ? static_cast<double>(event.partialBytes) : -1);
      if (partial) {
        Text(event.partialPath);
        Text(event.validator);
        Text(event.partialIdentity);
      }
      break;
    }
    case EventType::ResetCompleted:
    case EventType::FlushCompleted:
      numbers_.push_back(static_cast<double>(event.token));
      break;
    case EventType::BodyData:
      Body(event.responseBody);
      break;
    case EventType::TaskRecovered:
      numbers_.push_back(event.statusCode);  // the TaskKind
      Text(event.url);
      Text(event.message);  // its taskDescription
      break;
    case EventType::SessionInvalidated:
    case EventType::BackgroundEventsDelivered:
      break;
  }
}

bool EventBatchEncoder::Encode(napi_env env, const std::vector<Event>& events, napi_value args[3]) {
  numbers_.clear();
  text_.clear();
  bodies_.clear();
  for (const Event& event : events) EncodeEvent(event);

  void* data = nullptr;
  napi_value buffer;
  size_t bytes = numbers_.size() * sizeof(double);
  if (napi_create_arraybuffer(env, bytes, &data, &buffer) != napi_ok ||
      napi_create_typedarray(env, napi_float64_array, numbers_.size(), buffer, 0, &args[0]) != napi_ok) {
    return false;
  }
  if (bytes > 0) std::memcpy(data, numbers_.data(), bytes);
  if (napi_create_string_utf8(env, text_.data(), text_.size(), &args[1]) != napi_ok) return false;
  if (bodies_.empty()) return napi_get_undefined(env, &args[2]) == napi_ok;
  if (napi_create_array_with_length(env, bodies_.size(), &args[2]) != napi_ok) return false;
  for (uint32_t i = 0; i < bodies_.size(); ++i) {
    napi_value body;
    if (napi_create_arraybuffer(env, bodies_[i]->size(), &data, &body) != napi_ok) return false;
    std::memcpy(data, bodies_[i]->data(), bodies_[i]->size());
    if (napi_set_element(env, args[2], i, body) != napi_ok) return false;
  }
  return true;
}

}  // namespace urlsession
