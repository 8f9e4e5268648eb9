// Module entry: exports the NativeSession class and the engine's name.
// No static Napi:: objects: every per-env value lives on the exports object, so the addon
// loads once per worker_thread and per Electron reload without sharing JS handles.
#include <napi.h>

#include "bridge/session_wrap.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeSession", urlsession::NativeSession::DefineClass(env));
  exports.Set("engine", Napi::String::New(env, urlsession::DefaultEngineName()));
  return exports;
}

}  // namespace

NODE_API_MODULE(urlsession, Init)
