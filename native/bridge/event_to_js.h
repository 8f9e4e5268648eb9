// Converts engine events into the plain JS objects lib/binding.ts expects (see lib/native.d.ts).
// JS thread only.
//
// Raw Node-API calls with their status checked, not node-addon-api's throwing wrappers: a
// delivery can run while a worker is being terminated, when V8 refuses every operation, and a
// C++ exception built from that state aborts the process. A failed conversion just returns false.
#pragma once

#include <node_api.h>

#include <vector>

#include "engine/events.h"

namespace urlsession {

bool EventsToJs(napi_env env, std::vector<Event>& events, napi_value* result);

}  // namespace urlsession
