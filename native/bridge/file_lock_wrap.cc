#include "bridge/file_lock_wrap.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/file_lock.h"

namespace urlsession {
namespace {

// The descriptors of the locks this env holds. One table per env, bound to its two functions
// (no static state); deleted by the env's cleanup hook, which first closes what is still held,
// so that a worker thread ending without invalidating its session does not leave the lock held
// by a process that lives on.
struct HeldLocks {
  std::vector<int> fds;
};

void ReleaseAll(void* data) {
  auto* held = static_cast<HeldLocks*>(data);
  for (int fd : held->fds) UnlockFile(fd);
  delete held;
}

const char* StatusName(FileLockStatus status) {
  switch (status) {
    case FileLockStatus::kLocked: return "locked";
    case FileLockStatus::kHeld: return "held";
    case FileLockStatus::kNotRegularFile: return "not-regular";
    case FileLockStatus::kNotOwned: return "not-owner";
    case FileLockStatus::kFailed: break;
  }
  return "error";
}

// lockFile(path) -> { status, fd, errno, holder }; see core/file_lock.h for each status.
Napi::Value LockFileJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "lockFile(path)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  // A NUL would silently cut the path short at the system call.
  if (path.empty() || path.find('\0') != std::string::npos)
    throw Napi::TypeError::New(env, "lockFile(path): invalid path");
  FileLockResult result = LockFile(path);
  if (result.status == FileLockStatus::kLocked) static_cast<HeldLocks*>(info.Data())->fds.push_back(result.fd);
  Napi::Object out = Napi::Object::New(env);
  out.Set("status", Napi::String::New(env, StatusName(result.status)));
  out.Set("fd", Napi::Number::New(env, result.fd));
  out.Set("errno", Napi::Number::New(env, result.error));
  out.Set("holder", Napi::Number::New(env, static_cast<double>(result.holder)));
  return out;
}

// unlockFile(fd) -> whether fd was a lock of this env (only those are ever closed).
Napi::Value UnlockFileJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "unlockFile(fd)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::vector<int>& fds = static_cast<HeldLocks*>(info.Data())->fds;
  auto it = std::find(fds.begin(), fds.end(), fd);
  if (it == fds.end()) return Napi::Boolean::New(env, false);
  fds.erase(it);
  UnlockFile(fd);
  return Napi::Boolean::New(env, true);
}

}  // namespace

void AddFileLockFunctions(Napi::Env env, Napi::Object exports) {
  auto* held = new HeldLocks();
  napi_add_env_cleanup_hook(env, ReleaseAll, held);
  exports.Set("lockFile", Napi::Function::New(env, LockFileJs, "lockFile", held));
  exports.Set("unlockFile", Napi::Function::New(env, UnlockFileJs, "unlockFile", held));
}

}  // namespace urlsession
