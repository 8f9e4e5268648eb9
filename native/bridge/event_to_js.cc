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
      if (c == '\0')
        text_.append("\xEF\xBF\xBD");
      else
        text_.push_back(c);
    }
  }
  text_.push_back('\0');
}

// Only non-empty bodies travel; the event carries the length, and JS makes empty ones itself.
void EventBatchEncoder::Body(const std::string& bytes) {
  numbers_.push_back(static_cast<double>(bytes.size()));
  if (!bytes.empty()) bodies_.push_back(&bytes);
}

template <typename T>
bool EventBatchEncoder::EncodeNumber(T value) {
  numbers_.push_back(static_cast<double>(value));
  return true;
}

bool EventBatchEncoder::EncodeTaskKind(TaskKind kind) { return EncodeNumber(static_cast<int>(kind)); }

bool EventBatchEncoder::EncodeText(const std::string& value) {
  Text(value);
  return true;
}

bool EventBatchEncoder::EncodeBody(const std::string& bytes) {
  Body(bytes);
  return true;
}

// The count first: the decoder reads that many pairs of text fields.
bool EventBatchEncoder::EncodeHeaders(const std::vector<std::pair<std::string, std::string>>& headers) {
  EncodeNumber(headers.size());
  for (const auto& header : headers) {
    Text(header.first);
    Text(header.second);
  }
  return true;
}

bool EventBatchEncoder::EncodeMetrics(const TaskMetrics& metrics) {
#define URLSESSION_ENCODE_METRIC(kind, member, jsName) Encode##kind(metrics.member);
  URLSESSION_METRICS_FIELDS(URLSESSION_ENCODE_METRIC)
#undef URLSESSION_ENCODE_METRIC
  return true;
}

// A flag: 1 and the fields after it when `value` is set, else 0 and the event ends.
bool EventBatchEncoder::EncodeRestIf(const std::string& value) {
  EncodeNumber(value.empty() ? 0 : 1);
  return !value.empty();
}

// Every event type's fields, in native/engine/wire.h's order, which lib/generated/wire.ts's
// decoder reads in; an Encode<Kind> returning false ends the event (RestIf).
void EventBatchEncoder::EncodeEvent(const Event& event) {
  EncodeNumber(event.type);
  EncodeNumber(event.taskIdentifier);
  switch (event.type) {
#define URLSESSION_ENCODE_FIELD(kind, member, jsName) \
  if (!Encode##kind(event.member)) break;
#define URLSESSION_ENCODE_EVENT(name, value, fields) \
  case EventType::name: fields(URLSESSION_ENCODE_FIELD) break;
    URLSESSION_EVENT_TYPES(URLSESSION_ENCODE_EVENT)
#undef URLSESSION_ENCODE_EVENT
#undef URLSESSION_ENCODE_FIELD
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
