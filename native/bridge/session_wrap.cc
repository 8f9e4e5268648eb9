#include "bridge/session_wrap.h"

#include <utility>

#include "bridge/event_to_js.h"
#include "core/file_ops.h"

namespace urlsession {
namespace {

std::string GetString(const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  return value.IsString() ? value.As<Napi::String>().Utf8Value() : std::string();
}

double GetNumber(const Napi::Object& object, const char* key, double fallback) {
  Napi::Value value = object.Get(key);
  return value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : fallback;
}

// Headers cross the boundary as a flat [name, value, name, value, ...] array.
HeaderList HeadersFrom(const Napi::Value& value) {
  HeaderList headers;
  if (!value.IsArray()) return headers;
  Napi::Array flat = value.As<Napi::Array>();
  for (uint32_t i = 0; i + 1 < flat.Length(); i += 2) {
    headers.emplace_back(flat.Get(i).As<Napi::String>().Utf8Value(), flat.Get(i + 1).As<Napi::String>().Utf8Value());
  }
  return headers;
}

HeaderList GetHeaders(const Napi::Object& object, const char* key) { return HeadersFrom(object.Get(key)); }

SessionConfig ParseConfig(const Napi::Object& js) {
  SessionConfig config;
  config.identifier = GetString(js, "identifier");
  config.persistent = js.Get("persistent").ToBoolean();
  config.additionalHeaders = GetHeaders(js, "headers");
  config.stateDirectory = GetString(js, "stateDirectory");
  config.timeoutIntervalForRequest = GetNumber(js, "timeoutIntervalForRequest", config.timeoutIntervalForRequest);
  config.timeoutIntervalForResource = GetNumber(js, "timeoutIntervalForResource", config.timeoutIntervalForResource);
  config.maximumConnectionsPerHost =
      static_cast<int>(GetNumber(js, "maximumConnectionsPerHost", config.maximumConnectionsPerHost));
  config.maximumRedirects = static_cast<int>(GetNumber(js, "maximumRedirects", config.maximumRedirects));
  config.allowsInsecureRedirects = js.Get("allowsInsecureRedirects").ToBoolean();
  config.progressIntervalMs = static_cast<uint32_t>(GetNumber(js, "progressIntervalMs", config.progressIntervalMs));
  config.tls.caPem = GetString(js, "caPem");
  Napi::Value pins = js.Get("pinnedSpkiSha256");
  if (pins.IsArray()) {
    Napi::Array list = pins.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) config.tls.pinnedSpkiSha256.push_back(list.Get(i).As<Napi::String>());
  }
  config.cookieAcceptPolicy = static_cast<CookieAcceptPolicy>(static_cast<int>(GetNumber(js, "cookieAcceptPolicy", 0)));
  config.proxyMode = static_cast<ProxyMode>(static_cast<int>(GetNumber(js, "proxyMode", 0)));
  config.proxyUrl = GetString(js, "proxyUrl");
  config.noProxy = GetString(js, "noProxy");
  config.allowsCellularAccess = js.Get("allowsCellularAccess").ToBoolean();
  config.allowsExpensiveNetworkAccess = js.Get("allowsExpensiveNetworkAccess").ToBoolean();
  config.allowsConstrainedNetworkAccess = js.Get("allowsConstrainedNetworkAccess").ToBoolean();
  config.maximumBytesPerSecond = static_cast<int64_t>(GetNumber(js, "maximumBytesPerSecond", 0));
  return config;
}

// A task arrives as an array in native/engine/wire.h's URLSESSION_TASK_FIELDS order (which
// lib/generated/wire.ts's packTaskRequest writes): task_field::url is the url's index.
namespace task_field {
enum : uint32_t {
#define URLSESSION_TASK_FIELD_INDEX(name, jsType, presence) name,
  URLSESSION_TASK_FIELDS(URLSESSION_TASK_FIELD_INDEX)
#undef URLSESSION_TASK_FIELD_INDEX
      kCount
};
}  // namespace task_field

std::string StringAt(const Napi::Array& a, uint32_t i) {
  Napi::Value value = a.Get(i);
  return value.IsString() ? value.As<Napi::String>().Utf8Value() : std::string();
}

double NumberAt(const Napi::Array& a, uint32_t i, double fallback) {
  Napi::Value value = a.Get(i);
  return value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : fallback;
}

bool BoolAt(const Napi::Array& a, uint32_t i) { return a.Get(i).ToBoolean(); }

TaskRequest ParseTask(const Napi::Array& js) {
  TaskRequest request;
  request.taskIdentifier = static_cast<uint64_t>(NumberAt(js, task_field::taskIdentifier, 0));
  request.kind = static_cast<TaskKind>(static_cast<int>(NumberAt(js, task_field::kind, 2)));
  request.url = StringAt(js, task_field::url);
  request.method = StringAt(js, task_field::method);
  request.headers = HeadersFrom(js.Get(task_field::headers));
  Napi::Value body = js.Get(task_field::body);
  if (body.IsBuffer()) {
    Napi::Buffer<char> bytes = body.As<Napi::Buffer<char>>();
    request.bodySource = BodySource::Memory;
    request.bodyBytes.assign(bytes.Data(), bytes.Length());
  } else if (BoolAt(js, task_field::streamedBody)) {
    request.bodySource = BodySource::Stream;
    request.streamedBodyLength = static_cast<int64_t>(NumberAt(js, task_field::streamedBodyLength, -1));
  } else if (js.Get(task_field::bodyPath).IsString()) {
    request.bodySource = BodySource::File;
    request.bodyPath = StringAt(js, task_field::bodyPath);
  }
  request.downloadDirectory = StringAt(js, task_field::downloadDirectory);
  request.downloadFileName = StringAt(js, task_field::downloadFileName);
  request.timeout = NumberAt(js, task_field::timeout, 0);
  request.overwrite = BoolAt(js, task_field::overwrite);
  request.nameFromResponse = BoolAt(js, task_field::nameFromResponse);
  request.discardOnHttpError = BoolAt(js, task_field::discardOnHttpError);
  request.keepPartialOnFailure = BoolAt(js, task_field::keepPartialOnFailure);
  request.resumePartialPath = StringAt(js, task_field::resumePartialPath);
  request.resumeOffset = static_cast<int64_t>(NumberAt(js, task_field::resumeOffset, 0));
  request.resumeValidator = StringAt(js, task_field::resumeValidator);
  request.integrity.algorithm = StringAt(js, task_field::integrityAlgorithm);
  Napi::Value digests = js.Get(task_field::integrityDigests);
  if (digests.IsArray()) {
    Napi::Array list = digests.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Buffer<char> digest = list.Get(i).As<Napi::Buffer<char>>();
      request.integrity.digests.emplace_back(digest.Data(), digest.Length());
    }
  }
  request.streamBody = BoolAt(js, task_field::streamBody);
  request.resumeIdentity = StringAt(js, task_field::resumeIdentity);
  request.maximumResponseSize = static_cast<int64_t>(NumberAt(js, task_field::maximumResponseSize, 0));
  request.priority = NumberAt(js, task_field::priority, 0.5);
  request.manualRedirects = BoolAt(js, task_field::manualRedirects);
  request.maximumBytesPerSecond = static_cast<int64_t>(NumberAt(js, task_field::maximumBytesPerSecond, 0));
  request.taskDescription = StringAt(js, task_field::taskDescription);
  request.segments = static_cast<int>(NumberAt(js, task_field::segments, 0));
  request.resumeSegments = StringAt(js, task_field::resumeSegments);
  request.omitCredentials = BoolAt(js, task_field::omitCredentials);
  request.cacheMode = StringAt(js, task_field::cacheMode);
  return request;
}

bool EndsWork(EventType type) {
  return type == EventType::TaskCompleted || type == EventType::ResetCompleted || type == EventType::FlushCompleted ||
         type == EventType::SessionInvalidated;
}

}  // namespace

Napi::Function NativeSession::DefineClass(Napi::Env env) {
  return ObjectWrap<NativeSession>::DefineClass(
      env, "NativeSession",
      {
          InstanceMethod<&NativeSession::StartTask>("startTask"),
          InstanceMethod<&NativeSession::CancelTask>("cancelTask"),
          InstanceMethod<&NativeSession::SuspendTask>("suspendTask"),
          InstanceMethod<&NativeSession::ResumeTask>("resumeTask"),
          InstanceMethod<&NativeSession::AcknowledgeBody>("acknowledgeBody"),
          InstanceMethod<&NativeSession::WriteBody>("writeBody"),
          InstanceMethod<&NativeSession::SetSpeedLimit>("setSpeedLimit"),
          InstanceMethod<&NativeSession::FinishTasksAndInvalidate>("finishTasksAndInvalidate"),
          InstanceMethod<&NativeSession::InvalidateAndCancel>("invalidateAndCancel"),
          InstanceMethod<&NativeSession::Reset>("reset"),
          InstanceMethod<&NativeSession::Flush>("flush"),
          InstanceMethod<&NativeSession::Close>("close"),
          InstanceMethod<&NativeSession::StopForExit>("stopForExit"),
      });
}

// JS thread: new NativeSession(config, onEvents). lib/ validated every argument already;
// the checks here only keep a direct misuse of the binding from crashing.
NativeSession::NativeSession(const Napi::CallbackInfo& info) : ObjectWrap<NativeSession>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
    throw Napi::TypeError::New(env, "NativeSession(config, onEvents)");
  }
  env_ = env;
  queue_ = std::make_unique<EventQueue>(&NativeSession::Wake, this);
  delivery_state_ = new DeliveryState{this};
  delivery_ = Delivery::New(
      env, info[1].As<Napi::Function>(), "urlsession", 0, 1, delivery_state_,
      [](Napi::Env, void*, DeliveryState* state) { delete state; }, static_cast<void*>(nullptr));
  // Idle sessions must not keep the process alive; BeginWork refs while work is outstanding.
  delivery_.Unref(env);
  // Registered after the TSFN so that it runs before Node's own TSFN cleanup (reverse order).
  napi_add_env_cleanup_hook(env, &NativeSession::OnEnvCleanup, this);
  SessionConfig config = ParseConfig(info[0].As<Napi::Object>());
  // The umask is read once, here on the JS thread, before any engine thread creates a file
  // (where /proc is missing, reading it means setting it for an instant).
  FinishedFileMode();
  std::string failure;
  engine_ = CreateEngine(config, queue_.get(), &failure);
  if (!engine_) {
    // The destructor does not run for a constructor that throws: undo the TSFN and the hook here.
    Teardown();
    Napi::Error error = Napi::Error::New(env, "the session's engine could not start: " + failure);
    error.Value().Set("code", Napi::String::New(env, "ERR_URLSESSION_ENGINE_START"));
    throw error;
  }
  info.This().As<Napi::Object>().DefineProperty(Napi::PropertyDescriptor::Value(
      "usesSystemBackground", Napi::Boolean::New(env, engine_->UsesSystemBackground()), napi_enumerable));
}

NativeSession::~NativeSession() { Teardown(); }

// Engine threads: the queue just went from empty to non-empty.
void NativeSession::Wake(void* self) {
  // napi_closing after teardown began is expected and harmless.
  static_cast<NativeSession*>(self)->delivery_.NonBlockingCall();
}

void DeliverEvents(Napi::Env env, Napi::Function onEvents, DeliveryState* state, void*) {
  if (env == nullptr || state == nullptr || state->owner == nullptr) return;
  state->owner->Deliver(env, onEvents);
}

// JS thread: hands the whole batch to JS in one call. Raw Node-API here (see event_to_js.h):
// if the env is being torn down, the batch is dropped instead of aborting the process.
void NativeSession::Deliver(Napi::Env env, Napi::Function onEvents) {
  std::vector<Event> batch = queue_->Drain();
  if (batch.empty()) return;
  for (const Event& event : batch) {
    // A recovered task is work this process never began (StartTask does): its TaskCompleted
    // would otherwise end work that other tasks still hold, unref'ing the loop while they run.
    if (event.type == EventType::TaskRecovered) BeginWork(env);
    if (EndsWork(event.type)) EndWork(env);
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value args[3];
  napi_value global;
  if (encoder_.Encode(env, batch, args) && napi_get_global(env, &global) == napi_ok) {
    // A throwing callback leaves its exception pending: Node reports it as uncaught when this
    // callback returns (lib/ already routes listener errors there; this is the backstop).
    napi_call_function(env, global, onEvents, 3, args, nullptr);
  }
  napi_close_handle_scope(env, scope);
}

void NativeSession::BeginWork(Napi::Env env) {
  if (outstanding_++ == 0) delivery_.Ref(env);
}

void NativeSession::EndWork(Napi::Env env) {
  if (outstanding_ == 0) return;
  if (--outstanding_ == 0) delivery_.Unref(env);
}

// Throws once closed. After stopForExit() every call is accepted and does nothing: the
// process is ending, and the app's own 'exit' listeners may still call the session.
bool NativeSession::Accepting(Napi::Env env) const {
  if (torn_down_) throw Napi::Error::New(env, "NativeSession is closed");
  return !stopped_;
}

Napi::Value NativeSession::StartTask(const Napi::CallbackInfo& info) {
  if (!Accepting(info.Env())) return info.Env().Undefined();
  if (info.Length() < 1 || !info[0].IsArray() || info[0].As<Napi::Array>().Length() != task_field::kCount) {
    throw Napi::TypeError::New(info.Env(), "startTask(packTaskRequest(request))");
  }
  TaskRequest request = ParseTask(info[0].As<Napi::Array>());
  BeginWork(info.Env());
  engine_->StartTask(std::move(request));
  return info.Env().Undefined();
}

Napi::Value NativeSession::CancelTask(const Napi::CallbackInfo& info) {
  if (!Accepting(info.Env())) return info.Env().Undefined();
  engine_->CancelTask(static_cast<uint64_t>(info[0].ToNumber().Int64Value()));
  return info.Env().Undefined();
}

Napi::Value NativeSession::SuspendTask(const Napi::CallbackInfo& info) {
  if (!Accepting(info.Env())) return info.Env().Undefined();
  engine_->SuspendTask(static_cast<uint64_t>(info[0].ToNumber().Int64Value()));
  return info.Env().Undefined();
}

Napi::Value NativeSession::ResumeTask(const Napi::CallbackInfo& info) {
  if (!Accepting(info.Env())) return info.Env().Undefined();
  engine_->ResumeTask(static_cast<uint64_t>(info[0].ToNumber().Int64Value()));
  return info.Env().Undefined();
}

Napi::Value NativeSession::AcknowledgeBody(const Napi::CallbackInfo& info) {
  if (!Accepting(info.Env())) return info.Env().Undefined();
  engine_->AcknowledgeBody(static_cast<uint64_t>(info[0].ToNumber().Int64Value()), info[1].ToNumber().Int64Value());
  return info.Env().Undefined();
}

// writeBody(taskIdentifier, chunk, end): a Buffer (copied: JS may reuse it at once) or null, and
// 0 (more follows), 1 (the end) or 2 (JS's stream failed). Returns whether JS may write more now.
Napi::Value NativeSession::WriteBody(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Accepting(env)) return Napi::Boolean::New(env, false);
  if (info.Length() < 3 || !info[0].IsNumber() || !(info[1].IsBuffer() || info[1].IsNull()) || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "writeBody(taskIdentifier, Buffer | null, end)");
  }
  std::string bytes;
  if (info[1].IsBuffer()) {
    Napi::Buffer<char> chunk = info[1].As<Napi::Buffer<char>>();
    bytes.assign(chunk.Data(), chunk.Length());
  }
  int end = info[2].As<Napi::Number>().Int32Value();
  BodyStreamEnd how = end == 1 ? BodyStreamEnd::Ended : end == 2 ? BodyStreamEnd::Failed : BodyStreamEnd::None;
  return Napi::Boolean::New(
      env, engine_->WriteBody(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()), std::move(bytes), how));
}

// setSpeedLimit(taskIdentifier, bytesPerSecond): 0 for the session; lib/ validated both.
Napi::Value NativeSession::SetSpeedLimit(const Napi::CallbackInfo& info) {
  if (!Accepting(info.Env())) return info.Env().Undefined();
  int64_t bytesPerSecond = info[1].ToNumber().Int64Value();
  engine_->SetSpeedLimit(static_cast<uint64_t>(info[0].ToNumber().Int64Value()),
                         bytesPerSecond < 0 ? 0 : bytesPerSecond);
  return info.Env().Undefined();
}

Napi::Value NativeSession::FinishTasksAndInvalidate(const Napi::CallbackInfo& info) {
  if (!Accepting(info.Env())) return info.Env().Undefined();
  BeginWork(info.Env());  // until SessionInvalidated arrives
  engine_->FinishTasksAndInvalidate();
  return info.Env().Undefined();
}

Napi::Value NativeSession::InvalidateAndCancel(const Napi::CallbackInfo& info) {
  if (!Accepting(info.Env())) return info.Env().Undefined();
  BeginWork(info.Env());
  engine_->InvalidateAndCancel();
  return info.Env().Undefined();
}

Napi::Value NativeSession::Reset(const Napi::CallbackInfo& info) {
  if (!Accepting(info.Env())) return info.Env().Undefined();
  BeginWork(info.Env());
  engine_->Reset(static_cast<uint64_t>(info[0].ToNumber().Int64Value()));
  return info.Env().Undefined();
}

Napi::Value NativeSession::Flush(const Napi::CallbackInfo& info) {
  if (!Accepting(info.Env())) return info.Env().Undefined();
  BeginWork(info.Env());
  engine_->Flush(static_cast<uint64_t>(info[0].ToNumber().Int64Value()));
  return info.Env().Undefined();
}

// JS thread: called by lib/ once 'invalidated' was delivered. Idempotent.
Napi::Value NativeSession::Close(const Napi::CallbackInfo& info) {
  Teardown();
  return info.Env().Undefined();
}

// JS thread, from process 'exit' (lib/exit-cleanup.ts), which Node emits on process.exit()
// where env cleanup hooks do not run: stops the engine and joins its threads, so that running
// downloads remove their partial files before the process ends. Idempotent; the rest of
// Teardown is left to env cleanup or close().
Napi::Value NativeSession::StopForExit(const Napi::CallbackInfo& info) {
  if (!torn_down_ && !stopped_ && engine_) engine_->Shutdown();
  stopped_ = true;
  return info.Env().Undefined();
}

void NativeSession::OnEnvCleanup(void* self) {
  auto* session = static_cast<NativeSession*>(self);
  session->env_ = nullptr;  // the hook is being consumed: nothing to remove afterwards
  session->Teardown();
}

void NativeSession::Teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  // Join engine threads first: after this nothing calls Wake() or touches the queue.
  if (engine_) engine_->Shutdown();
  if (queue_) queue_->Close();
  engine_.reset();
  if (delivery_state_ != nullptr) delivery_state_->owner = nullptr;
  delivery_.Release();
  if (env_ != nullptr) {
    napi_remove_env_cleanup_hook(env_, &NativeSession::OnEnvCleanup, this);
    env_ = nullptr;
  }
}

}  // namespace urlsession
