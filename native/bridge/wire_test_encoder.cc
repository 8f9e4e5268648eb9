#include "bridge/wire_test_encoder.h"

#include <string>
#include <utility>
#include <vector>

#include "bridge/event_to_js.h"
#include "engine/events.h"

namespace urlsession {
namespace {

// One reader per field kind of native/engine/wire.h: `from[name]` into `to`. A description
// states every field of its event type; a missing or mistyped one throws (node-addon-api).
template <typename T>
void ReadNumber(const Napi::Object& from, const char* name, T& to) {
  to = static_cast<T>(from.Get(name).As<Napi::Number>().DoubleValue());
}

void ReadTaskKind(const Napi::Object& from, const char* name, TaskKind& to) {
  to = static_cast<TaskKind>(from.Get(name).As<Napi::Number>().Int32Value());
}

void ReadText(const Napi::Object& from, const char* name, std::string& to) {
  to = from.Get(name).As<Napi::String>().Utf8Value();
}

void ReadBody(const Napi::Object& from, const char* name, std::string& to) {
  Napi::Buffer<char> bytes = from.Get(name).As<Napi::Buffer<char>>();
  to.assign(bytes.Data(), bytes.Length());
}

void ReadHeaders(const Napi::Object& from, const char* name, std::vector<std::pair<std::string, std::string>>& to) {
  Napi::Array flat = from.Get(name).As<Napi::Array>();
  for (uint32_t i = 0; i + 1 < flat.Length(); i += 2) {
    to.emplace_back(flat.Get(i).As<Napi::String>().Utf8Value(), flat.Get(i + 1).As<Napi::String>().Utf8Value());
  }
}

void ReadMetrics(const Napi::Object& from, const char* name, TaskMetrics& to) {
  Napi::Object metrics = from.Get(name).As<Napi::Object>();
#define URLSESSION_READ_METRIC(kind, member, jsName) Read##kind(metrics, #jsName, to.member);
  URLSESSION_METRICS_FIELDS(URLSESSION_READ_METRIC)
#undef URLSESSION_READ_METRIC
}

// Not a field: the fields after it are read like any other (a description leaves them out
// only when the member that RestIf names is empty, and then the encoder sends none of them).
void ReadRestIf(const Napi::Object& from, const char* name, const std::string&) {}

Event EventFrom(const Napi::Object& description) {
  Event event;
  event.type = static_cast<EventType>(description.Get("type").As<Napi::Number>().Int32Value());
  ReadNumber(description, "taskIdentifier", event.taskIdentifier);
  switch (event.type) {
#define URLSESSION_READ_FIELD(kind, member, jsName) \
  if (description.Has(#jsName)) Read##kind(description, #jsName, event.member);
#define URLSESSION_READ_EVENT(name, value, fields) \
  case EventType::name: fields(URLSESSION_READ_FIELD) break;
    URLSESSION_EVENT_TYPES(URLSESSION_READ_EVENT)
#undef URLSESSION_READ_EVENT
#undef URLSESSION_READ_FIELD
    default: throw Napi::RangeError::New(description.Env(), "encodeEventsForTest: unknown event type");
  }
  return event;
}

Napi::Value EncodeEventsForTest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "encodeEventsForTest(descriptions)");
  Napi::Array descriptions = info[0].As<Napi::Array>();
  std::vector<Event> events;
  for (uint32_t i = 0; i < descriptions.Length(); ++i)
    events.push_back(EventFrom(descriptions.Get(i).As<Napi::Object>()));
  EventBatchEncoder encoder;
  napi_value args[3];
  if (!encoder.Encode(env, events, args)) throw Napi::Error::New(env, "encodeEventsForTest: encoding failed");
  Napi::Array result = Napi::Array::New(env, 3);
  for (uint32_t i = 0; i < 3; ++i) result.Set(i, Napi::Value(env, args[i]));
  return result;
}

}  // namespace

void AddWireTestFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("encodeEventsForTest", Napi::Function::New<EncodeEventsForTest>(env, "encodeEventsForTest"));
}

}  // namespace urlsession
