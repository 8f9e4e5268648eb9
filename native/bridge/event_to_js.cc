#include "bridge/event_to_js.h"

namespace urlsession {
namespace {

Napi::Object MetricsToJs(Napi::Env env, const TaskMetrics& metrics) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("dnsMs", metrics.dnsMs);
  out.Set("connectMs", metrics.connectMs);
  out.Set("tlsMs", metrics.tlsMs);
  out.Set("firstByteMs", metrics.firstByteMs);
  out.Set("totalMs", metrics.totalMs);
  out.Set("bytesSent", static_cast<double>(metrics.bytesSent));
  out.Set("bytesReceived", static_cast<double>(metrics.bytesReceived));
  out.Set("redirectCount", metrics.redirectCount);
  out.Set("protocol", metrics.protocol);
  out.Set("remoteAddress", metrics.remoteAddress);
  return out;
}

}  // namespace

// Only the fields an event type carries are set, to keep per-event cost low.
Napi::Array EventsToJs(Napi::Env env, std::vector<Event>& events) {
  Napi::Array out = Napi::Array::New(env, events.size());
  uint32_t index = 0;
  for (Event& event : events) {
    Napi::Object js = Napi::Object::New(env);
    js.Set("type", static_cast<uint32_t>(event.type));
    js.Set("taskIdentifier", static_cast<double>(event.taskIdentifier));
    switch (event.type) {
      case EventType::DownloadProgress:
      case EventType::UploadProgress:
        js.Set("totalBytes", static_cast<double>(event.totalBytes));
        js.Set("expectedBytes", static_cast<double>(event.expectedBytes));
        break;
      case EventType::Response: {
        js.Set("statusCode", event.statusCode);
        js.Set("expectedBytes", static_cast<double>(event.expectedBytes));
        js.Set("url", event.url);
        Napi::Array headers = Napi::Array::New(env, event.responseHeaders.size() * 2);
        uint32_t h = 0;
        for (const auto& header : event.responseHeaders) {
          headers.Set(h++, header.first);
          headers.Set(h++, header.second);
        }
        js.Set("headers", headers);
        break;
      }
      case EventType::DownloadCompleted:
        js.Set("statusCode", event.statusCode);
        js.Set("location", event.location);
        break;
      case EventType::TaskCompleted:
        js.Set("statusCode", event.statusCode);
        js.Set("errorCode", event.errorCode);
        js.Set("message", event.message);
        js.Set("url", event.url);
        js.Set("responseBody", Napi::Buffer<char>::Copy(env, event.responseBody.data(), event.responseBody.size()));
        js.Set("metrics", MetricsToJs(env, event.metrics));
        if (!event.partialPath.empty()) {
          js.Set("partialPath", event.partialPath);
          js.Set("partialBytes", static_cast<double>(event.partialBytes));
          js.Set("validator", event.validator);
        }
        break;
      case EventType::ResetCompleted:
      case EventType::FlushCompleted:
        js.Set("token", static_cast<double>(event.token));
        break;
      case EventType::BodyData:
        js.Set("chunk", Napi::Buffer<char>::Copy(env, event.responseBody.data(), event.responseBody.size()));
        break;
      case EventType::SessionInvalidated:
        break;
    }
    out.Set(index++, js);
  }
  return out;
}

}  // namespace urlsession
