// Turns a batch of engine events into the three values `onEvents(numbers, text, bodies)` receives;
// lib/generated/wire.ts decodes them into NativeEvent objects. JS thread only.
//
// Why not one object per event: building an event object from C++ costs a string internalization,
// a map transition and a runtime call per property, and a node::Buffer (with its prototype swap)
// per body: the JS thread's largest cost on small requests (bench/ANALYSIS.md, (c), has the
// measured share and what crossing as below saved). A batch now crosses as:
//   numbers  Float64Array: per event its type, task identifier and numeric fields, in the order
//            of native/engine/wire.h (which lib/generated/wire.ts decodes); a header list
//            carries its count.
//   text     one string: every text field of the batch in order, each followed by U+0000.
//   bodies   an array of ArrayBuffers (response bodies and streamed chunks), or undefined.
//
// Raw Node-API calls with their status checked, not node-addon-api's throwing wrappers: a
// delivery can run while a worker is being terminated, when V8 refuses every operation, and a
// C++ exception built from that state aborts the process. A failed conversion returns false.
#pragma once

#include <node_api.h>

#include <string>
#include <utility>
#include <vector>

#include "engine/events.h"

namespace urlsession {

// Reused across batches so that a steady stream of events allocates nothing in C++.
class EventBatchEncoder {
 public:
  // Fills args[0..2]; false if V8 refused an allocation (the env is going away).
  bool Encode(napi_env env, const std::vector<Event>& events, napi_value args[3]);

 private:
  void EncodeEvent(const Event& event);
  // One per field kind of native/engine/wire.h; true while the event's later fields travel.
  template <typename T>
  bool EncodeNumber(T value);
  bool EncodeTaskKind(TaskKind kind);
  bool EncodeText(const std::string& value);
  bool EncodeBody(const std::string& bytes);
  bool EncodeHeaders(const std::vector<std::pair<std::string, std::string>>& headers);
  bool EncodeMetrics(const TaskMetrics& metrics);
  bool EncodeRestIf(const std::string& value);
  void Text(const std::string& value);
  void Body(const std::string& bytes);

  std::vector<double> numbers_;
  std::string text_;
  std::vector<const std::string*> bodies_;
};

}  // namespace urlsession
