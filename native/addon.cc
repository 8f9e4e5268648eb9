// Module entry: exports the NativeSession class, the engine's name, the session lock's
// lockFile/unlockFile, the partial files' naming rule (core/file_ops.h) and, for the tests
// only, encodeEventsForTest (bridge/wire_test_encoder.h).
// No static Napi:: objects: every per-env value lives on the exports object, so the addon
// loads once per worker_thread and per Electron reload without sharing JS handles.
#include <napi.h>

#include "bridge/file_lock_wrap.h"
#include "bridge/session_wrap.h"
#include "bridge/wire_test_encoder.h"
#include "core/file_ops.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeSession", urlsession::NativeSession::DefineClass(env));
  exports.Set("engine", Napi::String::New(env, urlsession::DefaultEngineName()));
  urlsession::AddFileLockFunctions(env, exports);
  urlsession::AddWireTestFunctions(env, exports);
  exports.Set("partialFileNamePattern", Napi::String::New(env, urlsession::kPartialFileNamePattern));
  return exports;
}

}  // namespace

NODE_API_MODULE(urlsession, Init)
