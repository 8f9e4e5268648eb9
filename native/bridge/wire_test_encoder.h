// Test only: `encodeEventsForTest(descriptions)` encodes events described in JS exactly as the
// engines' events are encoded for delivery, so that a Linux test round-trips every event type of
// native/engine/wire.h, the Apple engine's included, through lib/generated/wire.ts's decoder.
// Not part of lib/'s NativeBinding type. JS thread only.
#pragma once

#include <napi.h>

namespace urlsession {

// Adds encodeEventsForTest(descriptions: object[]) -> [numbers, text, bodies] to `exports`.
void AddWireTestFunctions(Napi::Env env, Napi::Object exports);

}  // namespace urlsession
