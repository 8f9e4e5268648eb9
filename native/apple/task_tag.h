// The task tag: what a background NSURLSessionTask carries in its taskDescription so that a later
// process (getAllTasksWithCompletionHandler: or the first delegate callback after a relaunch) can
// adopt it with its identifier, kind, destination and the user's own taskDescription. Encoding and
// decoding only, as plain C++17 (flat JSON object); tested on Linux.
//
// The decoder trusts nothing: nsurlsessiond hands back whatever string the task carries, and an
// earlier version, another library in the same app or a corrupted store may have put anything
// there. A value of the wrong type makes the whole tag "not ours" instead of a crash.
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine.h"

namespace urlsession {

struct TaskTag {
  uint64_t taskIdentifier = 0;
  TaskKind kind = TaskKind::Data;
  std::string downloadDirectory;
  std::string downloadFileName;
  bool nameFromResponse = false;
  bool overwrite = false;
  bool discardOnHttpError = false;
  bool streamBody = false;
  std::string taskDescription;  // the user's own (TaskRequest::taskDescription)
  std::string temporaryBody;    // a memory upload body written to a file for nsurlsessiond
};

TaskTag TagOf(const TaskRequest& request, const std::string& temporaryBody);
// The inverse: the request a recovered task's tag describes (url and method come from the
// NSURLSessionTask itself, not the tag).
TaskRequest RequestOf(const TaskTag& tag, const std::string& url, const std::string& method);
std::string EncodeTaskTag(const TaskTag& tag);
// False when `text` is not a tag of ours: not JSON, not a flat object, no "urlsession": 1, an id
// that is not a positive integer, a kind out of range, or any known key with a value of the
// wrong type. Unknown keys are ignored (a newer version may add some).
bool DecodeTaskTag(const std::string& text, TaskTag* tag);

}  // namespace urlsession
