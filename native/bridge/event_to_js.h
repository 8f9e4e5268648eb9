// Converts engine events into the plain JS objects lib/binding.ts expects (see lib/native.d.ts).
// JS thread only.
#pragma once

#include <napi.h>

#include <vector>

#include "engine/events.h"

namespace urlsession {

Napi::Array EventsToJs(Napi::Env env, std::vector<Event>& events);

}  // namespace urlsession
