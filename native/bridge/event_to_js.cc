#include "bridge/event_to_js.h"

#include <string>

namespace urlsession {
namespace {

// Builds one object; every setter reports failure instead of throwing.
class ObjectBuilder {
 public:
  explicit ObjectBuilder(napi_env env) : env_(env) { ok_ = napi_create_object(env, &object_) == napi_ok; }

  void Number(const char* key, double value) {
    napi_value v;
    Set(key, ok_ && napi_create_double(env_, value, &v) == napi_ok ? v : nullptr);
  }
  void String(const char* key, const std::string& value) {
    napi_value v;
    Set(key, ok_ && napi_create_string_utf8(env_, value.data(), value.size(), &v) == napi_ok ? v : nullptr);
  }
  void Bytes(const char* key, const std::string& value) {
    napi_value v;
    void* copy = nullptr;
    Set(key, ok_ && napi_create_buffer_copy(env_, value.size(), value.data(), &copy, &v) == napi_ok ? v : nullptr);
  }
  void Value(const char* key, napi_value value) { Set(key, value); }

  bool ok() const { return ok_; }
  napi_value object() const { return object_; }

 private:
  void Set(const char* key, napi_value value) {
    if (!ok_ || value == nullptr || napi_set_named_property(env_, object_, key, value) != napi_ok) ok_ = false;
  }

  napi_env env_;
  napi_value object_ = nullptr;
  bool ok_ = false;
};

napi_value MetricsToJs(napi_env env, const TaskMetrics& metrics) {
  ObjectBuilder out(env);
  out.Number("dnsMs", metrics.dnsMs);
  out.Number("connectMs", metrics.connectMs);
  out.Number("tlsMs", metrics.tlsMs);
  out.Number("firstByteMs", metrics.firstByteMs);
  out.Number("totalMs", metrics.totalMs);
  out.Number("bytesSent", static_cast<double>(metrics.bytesSent));
  out.Number("bytesReceived", static_cast<double>(metrics.bytesReceived));
  out.Number("redirectCount", metrics.redirectCount);
  out.String("protocol", metrics.protocol);
  out.String("remoteAddress", metrics.remoteAddress);
  return out.ok() ? out.object() : nullptr;
}

napi_value HeadersToJs(napi_env env, const std::vector<std::pair<std::string, std::string>>& headers) {
  napi_value array;
  if (napi_create_array_with_length(env, headers.size() * 2, &array) != napi_ok) return nullptr;
  uint32_t index = 0;
  for (const auto& header : headers) {
    for (const std::string* text : {&header.first, &header.second}) {
      napi_value value;
      if (napi_create_string_utf8(env, text->data(), text->size(), &value) != napi_ok ||
          napi_set_element(env, array, index++, value) != napi_ok) {
        return nullptr;
      }
    }
  }
  return array;
}

// Only the fields an event type carries are set, to keep per-event cost low.
napi_value EventToJs(napi_env env, Event& event) {
  ObjectBuilder js(env);
  js.Number("type", static_cast<double>(event.type));
  js.Number("taskIdentifier", static_cast<double>(event.taskIdentifier));
  switch (event.type) {
    case EventType::DownloadProgress:
    case EventType::UploadProgress:
      js.Number("totalBytes", static_cast<double>(event.totalBytes));
      js.Number("expectedBytes", static_cast<double>(event.expectedBytes));
      break;
    case EventType::Response:
      js.Number("statusCode", event.statusCode);
      js.Number("expectedBytes", static_cast<double>(event.expectedBytes));
      js.String("url", event.url);
      js.Value("headers", HeadersToJs(env, event.responseHeaders));
      break;
    case EventType::DownloadCompleted:
      js.Number("statusCode", event.statusCode);
      js.String("location", event.location);
      break;
    case EventType::TaskCompleted:
      js.Number("statusCode", event.statusCode);
      js.Number("errorCode", event.errorCode);
      js.String("message", event.message);
      js.String("url", event.url);
      js.Bytes("responseBody", event.responseBody);
      js.Value("metrics", MetricsToJs(env, event.metrics));
      if (!event.partialPath.empty()) {
        js.String("partialPath", event.partialPath);
        js.Number("partialBytes", static_cast<double>(event.partialBytes));
        js.String("validator", event.validator);
      }
      break;
    case EventType::ResetCompleted:
    case EventType::FlushCompleted:
      js.Number("token", static_cast<double>(event.token));
      break;
    case EventType::BodyData:
      js.Bytes("chunk", event.responseBody);
      break;
    case EventType::TaskRecovered:
      js.String("url", event.url);
      js.Number("kind", event.statusCode);
      js.String("taskDescription", event.message);
      break;
    case EventType::SessionInvalidated:
    case EventType::BackgroundEventsDelivered:
      break;
  }
  return js.ok() ? js.object() : nullptr;
}

}  // namespace

bool EventsToJs(napi_env env, std::vector<Event>& events, napi_value* result) {
  if (napi_create_array_with_length(env, events.size(), result) != napi_ok) return false;
  uint32_t index = 0;
  for (Event& event : events) {
    napi_value js = EventToJs(env, event);
    if (js == nullptr || napi_set_element(env, *result, index++, js) != napi_ok) return false;
  }
  return true;
}

}  // namespace urlsession
