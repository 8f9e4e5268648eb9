// The JS face of core/file_lock: binding.lockFile(path) and binding.unlockFile(fd), which
// lib/journal.ts uses for a persistent session's lock. JS thread only.
#pragma once

#include <napi.h>

namespace urlsession {

// Adds lockFile and unlockFile to `exports`, with this env's own table of held locks.
void AddFileLockFunctions(Napi::Env env, Napi::Object exports);

}  // namespace urlsession
