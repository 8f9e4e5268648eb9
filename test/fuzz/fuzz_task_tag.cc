// libFuzzer target: the Apple engine's task tag decoder (native/apple/task_tag.h), which reads
// whatever string a background NSURLSessionTask's taskDescription holds after a relaunch. It
// must never crash, and whatever it accepts must survive encoding and decoding unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "apple/task_tag.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  urlsession::TaskTag tag;
  if (!urlsession::DecodeTaskTag(text, &tag)) return 0;
  if (tag.taskIdentifier == 0 || static_cast<int>(tag.kind) > 2) abort();
  urlsession::TaskTag again;
  if (!urlsession::DecodeTaskTag(urlsession::EncodeTaskTag(tag), &again)) abort();
  if (again.taskIdentifier != tag.taskIdentifier || again.kind != tag.kind ||
      again.downloadDirectory != tag.downloadDirectory || again.downloadFileName != tag.downloadFileName ||
      again.taskDescription != tag.taskDescription || again.temporaryBody != tag.temporaryBody ||
      again.nameFromResponse != tag.nameFromResponse || again.overwrite != tag.overwrite ||
      again.discardOnHttpError != tag.discardOnHttpError || again.streamBody != tag.streamBody) {
    abort();
  }
  return 0;
}
