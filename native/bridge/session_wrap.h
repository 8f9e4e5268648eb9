// The JS face of one engine session: `new NativeSession(config, onEvents)`.
// Everything here runs on the JS thread except Wake(), which engine threads call.
#pragma once

#include <napi.h>

#include <memory>

#include "bridge/event_to_js.h"
#include "core/event_queue.h"
#include "engine/engine.h"

namespace urlsession {

class NativeSession;

// The TSFN's context. Owned by the TSFN (deleted in its finalizer) so that a delivery
// already queued when the session is torn down finds `owner == nullptr` instead of
// a destroyed session.
struct DeliveryState {
  NativeSession* owner;
};

void DeliverEvents(Napi::Env env, Napi::Function onEvents, DeliveryState* state, void* unused);

class NativeSession : public Napi::ObjectWrap<NativeSession> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit NativeSession(const Napi::CallbackInfo& info);
  ~NativeSession() override;

  void Deliver(Napi::Env env, Napi::Function onEvents);

 private:
  using Delivery = Napi::TypedThreadSafeFunction<DeliveryState, void, DeliverEvents>;

  Napi::Value StartTask(const Napi::CallbackInfo& info);
  Napi::Value CancelTask(const Napi::CallbackInfo& info);
  Napi::Value SuspendTask(const Napi::CallbackInfo& info);
  Napi::Value ResumeTask(const Napi::CallbackInfo& info);
  Napi::Value AcknowledgeBody(const Napi::CallbackInfo& info);
  Napi::Value WriteBody(const Napi::CallbackInfo& info);
  Napi::Value SetSpeedLimit(const Napi::CallbackInfo& info);
  Napi::Value FinishTasksAndInvalidate(const Napi::CallbackInfo& info);
  Napi::Value InvalidateAndCancel(const Napi::CallbackInfo& info);
  Napi::Value Reset(const Napi::CallbackInfo& info);
  Napi::Value Flush(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value StopForExit(const Napi::CallbackInfo& info);

  static void Wake(void* self);          // engine threads
  static void OnEnvCleanup(void* self);  // JS thread, env teardown (worker exit, reload)
  void BeginWork(Napi::Env env);         // one more outstanding unit: ref the loop
  void EndWork(Napi::Env env);           // one fewer: unref the loop when idle
  void Teardown();                       // stop the engine, then release the TSFN
  bool Accepting(Napi::Env env) const;   // throws once closed; false once stopped for exit

  std::unique_ptr<EventQueue> queue_;
  EventBatchEncoder encoder_;  // JS thread (Deliver)
  std::unique_ptr<Engine> engine_;
  Delivery delivery_;
  DeliveryState* delivery_state_ = nullptr;
  napi_env env_ = nullptr;
  uint64_t outstanding_ = 0;
  bool torn_down_ = false;
  bool stopped_ = false;  // stopForExit: the engine is shut down, calls do nothing
};

}  // namespace urlsession
